import { existsSync, promises as fsp } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createStorage, normalizeKey, type Driver, type Storage } from 'unstorage'
import unstorageFsDriver from 'unstorage/drivers/fs'
import { afterAll, describe, expect, it } from 'vitest'
import { KtrdrError } from '../../runtime/protocol/index.ts'
import { TMP_MARK } from '../_atomic.ts'
import { createMountStorage } from '../index.ts'
import { describeStorageContract, runStorageContractCheck, type StorageContractTarget } from './contract.ts'

const dirs: string[] = []
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ktrdr-contract-'))
  dirs.push(dir)
  return join(dir, 'mount')
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

const FS_CAPABILITIES = { metaSize: true, mtimeResolutionMs: 1 }

describeStorageContract('fs-atomic driver on a temp dir', async () => {
  const root = await tempDir()
  return {
    storage: await createMountStorage({ driver: 'fs', base: root }),
    readOnly: await createMountStorage({ driver: 'fs', base: root, readOnly: true }),
    root,
    capabilities: FS_CAPABILITIES,
  }
})

/** Storage targets that each break one promise; the contract must fail on every one of them. */
describe('the contract fails on broken storage (negative controls)', () => {
  const memoryTarget = (storage: Storage): StorageContractTarget => ({
    storage,
    readOnly: null,
    root: null,
    capabilities: { metaSize: false, mtimeResolutionMs: 1 },
  })

  it('a driver that writes in pieces fails the atomic-overwrite check', async () => {
    const data = new Map<string, Buffer>()
    // Lands each 256 KB as it goes, yielding between pieces, as a non-atomic fs write does.
    const pieces: Driver = {
      name: 'pieces',
      hasItem: (key) => data.has(key),
      getItem: (key) => data.get(key)?.toString() ?? null,
      getItemRaw: (key) => data.get(key) ?? null,
      async setItemRaw(key, value: Uint8Array) {
        for (let end = 0; end < value.byteLength;) {
          end = Math.min(value.byteLength, end + 256 * 1024)
          data.set(key, Buffer.from(value.subarray(0, end)))
          await new Promise((resolve) => setImmediate(resolve))
        }
      },
      getKeys: () => [...data.keys()],
    }
    await expect(runStorageContractCheck('overwrite is atomic', memoryTarget(createStorage({ driver: pieces })))).rejects.toThrow(
      /neither the old nor the new value/,
    )
  })

  it('a listing that matches base as a bare string prefix fails the getKeys check', async () => {
    const inner = createStorage()
    const leaky: Storage = { ...inner, getKeys: async (base) => (await inner.getKeys()).filter((k) => k.startsWith(normalizeKey(base))) }
    await expect(runStorageContractCheck('getKeys(base)', memoryTarget(leaky))).rejects.toThrow(/list:runsX:c/)
  })

  it("unstorage's own createStorage fails the clear(base) check (a no-op below the root mount: unjs/unstorage#801)", async () => {
    await expect(runStorageContractCheck('clear(base)', memoryTarget(createStorage()))).rejects.toThrow(/clear:c:1/)
  })

  it('a driver that accepts .. segments fails the refused-keys check', async () => {
    await expect(runStorageContractCheck('refused keys', memoryTarget(createStorage()))).rejects.toThrow(/should have been refused/)
  })

  it("unstorage's fs driver fails the read-only, folder, and control-character checks", async () => {
    const root = await tempDir()
    const target: StorageContractTarget = {
      storage: createStorage({ driver: unstorageFsDriver({ base: root }) }),
      readOnly: createStorage({ driver: unstorageFsDriver({ base: root, readOnly: true }) }),
      root,
      capabilities: FS_CAPABILITIES,
    }
    // Its readOnly returns as if it had written; a folder "has" an item; NUL reaches fs as a 500-to-be TypeError.
    await expect(runStorageContractCheck('a read-only view', target)).rejects.toThrow(/should have been refused/)
    await expect(runStorageContractCheck('hasItem and getItem see items', target)).rejects.toThrow(/prefix of an item is not an item/)
    await expect(runStorageContractCheck('refused keys', target)).rejects.toThrow(/expected a 4xx refusal, got no status/)
    // It unlinks the file and leaves the folders.
    await expect(runStorageContractCheck('removing the last item of a folder', target)).rejects.toThrow(/must be gone/)
  })

  it('a temp-then-rename writer that does not clean up fails the disk-full check', async () => {
    const root = await tempDir()
    const leaving = (): Driver => {
      const inner = unstorageFsDriver({ base: root })
      return {
        ...inner,
        async setItemRaw(key: string, value: Uint8Array) {
          const path = join(root, key.replace(/:/g, '/'))
          const tmp = `${path}${TMP_MARK}${process.pid}-0badc0de`
          try {
            await fsp.mkdir(dirname(path), { recursive: true })
            const handle = await fsp.open(tmp, 'w')
            await handle.writeFile(value).finally(() => handle.close())
            await fsp.rename(tmp, path)
          } catch (cause) {
            throw new KtrdrError({ code: 'STORAGE_FULL', message: 'full', cause })
          }
        },
      }
    }
    const target: StorageContractTarget = { ...memoryTarget(createStorage({ driver: leaving() })), root }
    await expect(runStorageContractCheck('a write that fails halfway', target)).rejects.toThrow(/\.tmp-/)
  })
})

describe('fs-atomic: empty folders after a removal', () => {
  it("go up to the mount's own folder, which stays; a folder holding a write in flight stays too", async () => {
    const root = await tempDir()
    const storage = await createMountStorage({ driver: 'fs', base: root })
    await storage.setItem('op_1:weights.bin', 'x')
    await storage.removeItem('op_1:weights.bin')
    expect(existsSync(join(root, 'op_1'))).toBe(false)
    expect(existsSync(root)).toBe(true)
    await storage.setItem('top', 'x')
    await storage.removeItem('top')
    expect(existsSync(root)).toBe(true)
    // A temporary file the storage does not list.
    await storage.setItem('run:a', 'x')
    await fsp.writeFile(join(root, 'run', `b${TMP_MARK}1-0badc0de`), 'half')
    await storage.removeItem('run:a')
    expect(existsSync(join(root, 'run', `b${TMP_MARK}1-0badc0de`))).toBe(true)
  })
})
