// Public entry of the storage package: every component reaches data, models, bundles,
// results, strategies and checkpoints through these mounts.
import type { Driver, Storage } from 'unstorage'
import { createDriverStorage } from './_driver-storage.ts'
import { fsAtomicDriver } from './drivers/fs-atomic.ts'
import {
  MOUNT_NAMES,
  resolveStorageOptions,
  type MountConfig,
  type MountName,
  type ResolvedStorageOptions,
  type StorageConfig,
} from './options.ts'

export { MOUNT_NAMES, resolveStorageOptions, resolveLocalPath } from './options.ts'
export type { MountConfig, MountName, ResolvedStorageOptions, StorageConfig } from './options.ts'
export { fsAtomicDriver } from './drivers/fs-atomic.ts'
export { storageWriteError, writeFileAtomic } from './_atomic.ts'
export { createDriverStorage, type DriverStorageOptions } from './_driver-storage.ts'
export { sweepStorageTemps, sweepTempFiles, type SweepResult } from './sweep.ts'
export { assertStorageKey, invalidStorageKey, storageKeyProblem, STORAGE_KEY_LIMITS } from './keys.ts'

export type KtrdrStorage = Record<MountName, Storage> & { options: ResolvedStorageOptions; dispose(): Promise<void> }

export async function createMountStorage(config: MountConfig): Promise<Storage> {
  return createDriverStorage(await createMountDriver(config))
}

/** The unstorage driver of one mount config (fs, http or any unstorage driver by name). */
export async function createMountDriver(config: MountConfig): Promise<Driver> {
  if (config.driver === 'fs' && 'base' in config) return fsAtomicDriver({ base: config.base, readOnly: config.readOnly })
  if (config.driver === 'http' && 'base' in config) {
    // Loaded only when used: it pulls in ofetch, whose top-level touch of globalThis.fetch makes
    // Node load undici (~30 ms of every function executor's start-up when the mounts are on fs).
    const { httpDriver } = await import('./drivers/http.ts')
    return httpDriver({ base: config.base, headers: config.headers })
  }
  if (!('options' in config)) throw new Error(`Storage mount config for driver "${config.driver}" needs "options"`)
  if (!/^[a-z0-9-]+$/.test(config.driver)) throw new Error(`Unknown storage driver "${config.driver}"`)
  const mod = await import(`unstorage/drivers/${config.driver}`).catch((cause: unknown) => {
    throw new Error(`Storage driver "${config.driver}" is not available: install it or use fs/http`, { cause })
  })
  return mod.default(config.options)
}

/** One unstorage instance per mount, from resolved options (see resolveStorageOptions). */
export async function createKtrdrStorage(input: StorageConfig | ResolvedStorageOptions = {}): Promise<KtrdrStorage> {
  const options =
    'mounts' in input && input.mounts && MOUNT_NAMES.every((m) => m in input.mounts!)
      ? (input as ResolvedStorageOptions)
      : resolveStorageOptions(input as StorageConfig)
  const entries = await Promise.all(MOUNT_NAMES.map(async (name) => [name, await createMountStorage(options.mounts[name])] as const))
  const storage = Object.fromEntries(entries) as Record<MountName, Storage>
  return {
    ...storage,
    options,
    async dispose() {
      await Promise.all(entries.map(([, s]) => s.dispose()))
    },
  }
}
