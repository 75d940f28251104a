import { resolve } from 'node:path'

/** The storage mounts every component agrees on. */
import { MOUNT_NAMES, type MountName } from '../runtime/protocol/index.ts'

export { MOUNT_NAMES, type MountName }

export type MountConfig =
  | { driver: 'fs'; base: string; readOnly?: boolean }
  /** Storage served by the gateway (or any unstorage HTTP server) for hosts without NFS. */
  | { driver: 'http'; base: string; headers?: Record<string, string> }
  /** Any other unstorage driver, by its module name under unstorage/drivers/. */
  | { driver: string; options: Record<string, unknown> }

/** What a user or an env file says. Everything is optional. */
export interface StorageConfig {
  /** Root under which each mount gets a folder when not configured itself. Default ./.ktrdr */
  root?: string
  mounts?: Partial<Record<MountName, MountConfig>>
}

export interface ResolvedStorageOptions {
  root: string
  mounts: Record<MountName, MountConfig>
}

/** Env names for each mount's directory: the guide's DATA_DIR / MODELS_DIR plus ours. */
const MOUNT_ENV: Record<MountName, string[]> = {
  data: ['DATA_DIR', 'KTRDR_DATA_DIR'],
  models: ['MODELS_DIR', 'KTRDR_MODELS_DIR'],
  bundles: ['KTRDR_BUNDLES_DIR'],
  results: ['KTRDR_RESULTS_DIR'],
  strategies: ['KTRDR_STRATEGIES_DIR'],
  checkpoints: ['KTRDR_CHECKPOINTS_DIR'],
  /** Research memory: experiment records and hypotheses (written by the research loop, read by design). */
  memory: ['KTRDR_MEMORY_DIR'],
}

/**
 * Defaults live here and nowhere else: every mount is an fs folder under the root
 * (`KTRDR_HOME`, default `./.ktrdr`). `KTRDR_STORAGE_URL` switches every mount that is not
 * given a directory to the HTTP driver, for hosts that cannot mount NFS.
 */
export function resolveStorageOptions(config: StorageConfig = {}, env: NodeJS.ProcessEnv = process.env): ResolvedStorageOptions {
  const root = resolve(config.root ?? env.KTRDR_HOME ?? '.ktrdr')
  const storageUrl = env.KTRDR_STORAGE_URL
  const token = env.KTRDR_CLUSTER_TOKEN
  const mounts = {} as Record<MountName, MountConfig>
  for (const name of MOUNT_NAMES) {
    const explicit = config.mounts?.[name]
    const dir = MOUNT_ENV[name].map((key) => env[key]).find(Boolean)
    if (explicit) mounts[name] = explicit
    else if (dir) mounts[name] = { driver: 'fs', base: resolve(dir) }
    else if (storageUrl) {
      mounts[name] = {
        driver: 'http',
        base: `${storageUrl.replace(/\/$/, '')}/${name}`,
        headers: token ? { authorization: `Bearer ${token}` } : undefined,
      }
    } else mounts[name] = { driver: 'fs', base: resolve(root, name) }
  }
  return { root, mounts }
}

/** Local filesystem path of a key when the mount is on fs (NFS included); undefined otherwise. */
export function resolveLocalPath(options: ResolvedStorageOptions, mount: MountName, key = ''): string | undefined {
  const config = options.mounts[mount]
  if (config.driver !== 'fs' || !('base' in config)) return undefined
  return resolve(config.base, key.replace(/:/g, '/'))
}
