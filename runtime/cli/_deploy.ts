// Build → publish, the one way: `ktrdr fn deploy`, `ktrdr up`, `ktrdr demo`, the tests and the
// benches all deploy a function through deployFunction().
import { readFile } from 'node:fs/promises'
import type { BuiltBundle } from '../bundler/index.ts'
import type { FunctionVersion } from '../protocol/index.ts'
import { createGatewayClient, type GatewayClient } from './_client.ts'

export interface DeployFunctionOptions {
  /** Where to publish: a gateway client, or the gateway's URL (with `token`, else KTRDR_API_TOKEN). */
  gateway: GatewayClient | string
  /** With a URL for `gateway`: the API token (null sends none). */
  token?: string | null
  /**
   * Publish this archive (a .tgz path, or its bytes) instead of building: the target is then the
   * function name it is published under (the gateway refuses a manifest with another name).
   */
  archive?: string | Uint8Array
  /** Build output folder (default .ktrdr/build). */
  outDir?: string
  /** Packages to copy into the bundle although its bundle.json excludes them (a CUDA build of node-llama-cpp). */
  include?: string[]
  /** Recorded on the version; default: the last commit touching the function folder when it is clean (null: none). */
  sourceCommit?: string | null
}

export interface DeployedFunction extends FunctionVersion {
  /** False when this exact archive (same sha256) was already published: its version is returned. */
  created: boolean
  /** The bundle built for it; null when an archive was given. */
  built: BuiltBundle | null
  buildMs: number | null
  uploadMs: number
}

/**
 * Builds `target` (a name under functions/ or a folder with index.ts) into a bundle and publishes
 * it as a new immutable version: `latest` moves to it and the hosts prefetch it. Publishing is
 * idempotent by content, so deploying an unchanged function returns the version it already has.
 */
export async function deployFunction(target: string, options: DeployFunctionOptions): Promise<DeployedFunction> {
  const client = typeof options.gateway === 'string' ? createGatewayClient({ url: options.gateway, token: options.token }) : options.gateway
  let archive: Uint8Array
  let name = target
  let built: BuiltBundle | null = null
  if (options.archive !== undefined) {
    archive = typeof options.archive === 'string' ? new Uint8Array(await readFile(options.archive)) : options.archive
  } else {
    // The bundler (Nitro, nft) loads only when something is built.
    const { buildFunctionBundle } = await import('../bundler/index.ts')
    built = await buildFunctionBundle(target, {
      outDir: options.outDir,
      include: options.include,
      ...(options.sourceCommit === undefined ? {} : { sourceCommit: options.sourceCommit }),
    })
    archive = new Uint8Array(await readFile(built.archivePath))
    name = built.name
  }
  const sourceCommit = built ? built.manifest.source_commit : options.sourceCommit
  const t0 = performance.now()
  const version = await client<FunctionVersion & { created: boolean }>(`/api/v1/functions/${encodeURIComponent(name)}/versions`, {
    method: 'POST',
    body: archive,
    headers: { 'content-type': 'application/gzip', ...(sourceCommit ? { 'x-ktrdr-source-commit': sourceCommit } : {}) },
  })
  return { ...version, built, buildMs: built?.buildMs ?? null, uploadMs: Math.round(performance.now() - t0) }
}
