// Build → publish, the one way: `ktrdr fn deploy`, `ktrdr up`, `ktrdr demo`, the tests and the
// benches all deploy a function through deployFunction().
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import type { BuiltBundle, FunctionSources } from '../bundler/index.ts'
import type { FunctionAlias, FunctionVersion } from '../protocol/index.ts'
import { createGatewayClient, GatewayClientError, type GatewayClient } from './_client.ts'

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
  /** Build even when the deployed `latest` was built from the same sources (default false). */
  force?: boolean
  /** Type-check the function before building (runtime/bundler; default false, the CLI's deploys check). */
  typecheck?: boolean
  /** Stops a build under way (the requests to the gateway are short and run to their end). */
  signal?: AbortSignal
}

export interface DeployedFunction extends FunctionVersion {
  /** False when this exact archive (same sha256) was already published: its version is returned. */
  created: boolean
  /**
   * True when `latest` already was a version built from these very sources (manifest
   * `source_sha256`): nothing was built or uploaded, and that version is returned.
   */
  unchanged: boolean
  /** The bundle built for it; null when an archive was given or the sources were unchanged. */
  built: BuiltBundle | null
  buildMs: number | null
  uploadMs: number
}

/** The version `latest` points at alone (a split latest is not "the deployed version"), or null. */
async function deployedLatest(client: GatewayClient, name: string): Promise<FunctionVersion | null> {
  let fn: { versions: FunctionVersion[]; aliases: FunctionAlias[] }
  try {
    fn = await client(`/api/v1/functions/${encodeURIComponent(name)}`)
  } catch (error) {
    if (error instanceof GatewayClientError && error.code === 'FUNCTION_NOT_FOUND') return null
    throw error
  }
  const routes = fn.aliases.find((a) => a.alias === 'latest')?.routes ?? []
  return routes.length === 1 ? (fn.versions.find((v) => v.version === routes[0].version) ?? null) : null
}

/**
 * Builds `target` (a name under functions/ or a folder with index.ts) into a bundle and publishes
 * it as a new immutable version: `latest` moves to it and the hosts prefetch it. Before building
 * it asks the gateway's /health (a gateway that is not there fails in milliseconds, not after the
 * build) and skips the build when `latest` was built from the same sources (`unchanged`).
 * Publishing is idempotent by content too: an archive already published returns its version.
 */
export async function deployFunction(target: string, options: DeployFunctionOptions): Promise<DeployedFunction> {
  const client = typeof options.gateway === 'string' ? createGatewayClient({ url: options.gateway, token: options.token }) : options.gateway
  let archive: Uint8Array
  let name = target
  let built: BuiltBundle | null = null
  if (options.archive !== undefined) {
    archive = typeof options.archive === 'string' ? new Uint8Array(await readFile(options.archive)) : options.archive
  } else {
    await client('/health')
    // The bundler (Nitro, nft) loads only when something is built; the hash needs esbuild only.
    const { buildFunctionBundle, hashFunctionSources, resolveFunctionDir } = await import('../bundler/index.ts')
    const fnDir = resolveFunctionDir(target)
    // Unresolvable sources are left to the build, whose type check and Nitro say what is wrong.
    const sources: FunctionSources | null = await hashFunctionSources(fnDir).catch(() => null)
    // Extra packages (`include`) change the archive, not the sources: always built.
    if (sources && !options.force && !options.include?.length) {
      // The folder's name is the function's by convention (`ktrdr fn new`); a sha match is proof
      // enough either way, since the sources hash covers the folder's path.
      const current = await deployedLatest(client, basename(fnDir))
      if (current?.manifest.source_sha256 === sources.sha256)
        return { ...current, created: false, unchanged: true, built: null, buildMs: null, uploadMs: 0 }
    }
    built = await buildFunctionBundle(fnDir, {
      outDir: options.outDir,
      include: options.include,
      typecheck: options.typecheck,
      signal: options.signal,
      ...(sources ? { sources } : {}),
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
  return { ...version, unchanged: false, built, buildMs: built?.buildMs ?? null, uploadMs: Math.round(performance.now() - t0) }
}
