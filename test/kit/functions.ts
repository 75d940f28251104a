import { readFile } from 'node:fs/promises'
import { buildFunctionBundle, type BuiltBundle } from '../../runtime/bundler/index.ts'
import { deployFunction, type DeployedFunction } from '../../runtime/cli/index.ts'

export interface BuiltFunction {
  built: BuiltBundle
  /** The archive's bytes, to publish to as many gateways as a test starts. */
  archive: Uint8Array
}

/** Builds a function (a name under functions/, or a folder with index.ts) into `outDir`, recording no commit. */
export async function buildFunction(target: string, outDir: string): Promise<BuiltFunction> {
  const built = await buildFunctionBundle(target, { outDir, sourceCommit: null })
  return { built, archive: new Uint8Array(await readFile(built.archivePath)) }
}

/** The real echo function built into `outDir` (a Nitro build: build once per file, publish many times). */
export const buildEcho = (outDir: string): Promise<BuiltFunction> => buildFunction('echo', outDir)

/** Publishes a built archive under `name`, the way `ktrdr fn deploy --archive` does (runtime/cli deployFunction). */
export function publish(gatewayUrl: string, name: string, archive: Uint8Array, token?: string): Promise<DeployedFunction> {
  return deployFunction(name, { gateway: gatewayUrl, token: token ?? null, archive })
}
