import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createKtrdrStorage, type KtrdrStorage } from '../../storage/index.ts'

export interface TempStorage {
  /** The test's own temp folder: storage under `storage/`, anything else (caches, builds, a db) beside it. */
  root: string
  /** Where the storage mounts are: pass `{ root: storageRoot }` to gateways and hosts sharing it. */
  storageRoot: string
  storage: KtrdrStorage
  /** Disposes the storage and removes the folder. */
  cleanup(): Promise<void>
}

/** A fresh temp folder with KTRDR storage (fs mounts) in it. */
export async function tempStorage(prefix = 'ktrdr-test-'): Promise<TempStorage> {
  const root = await mkdtemp(join(tmpdir(), prefix))
  const storageRoot = join(root, 'storage')
  const storage = await createKtrdrStorage({ root: storageRoot })
  return {
    root,
    storageRoot,
    storage,
    async cleanup() {
      await storage.dispose()
      await rm(root, { recursive: true, force: true })
    },
  }
}
