import { promises as fsp } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'
import { defineDriver } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs'
import { KtrdrError } from '../../runtime/protocol/index.ts'
import { TMP_MARK, writeFileAtomic } from '../_atomic.ts'
import { invalidStorageKey, storageKeyProblem } from '../keys.ts'

export interface FsAtomicOptions {
  base: string
  readOnly?: boolean
  ignore?: string[]
}

/**
 * unstorage's fs driver with atomic writes (writeFileAtomic): a reader or a crash never sees half
 * a bundle, model or CSV, and a failed write leaves no temporary file behind. Beside that, three
 * answers differ from unstorage's fs driver (storage/test/contract.ts checks each):
 * - a bad key (storage/keys.ts: a `..` segment, a control character, a name too long for the
 *   filesystem) is a 400 STORAGE_KEY_INVALID on every method, where unstorage throws a plain Error,
 *   Node's ERR_INVALID_ARG_VALUE or ENAMETOOLONG with this machine's path (a 500 once the gateway or
 *   a host serves the mount);
 * - a readOnly mount refuses removeItem and clear too (403), where unstorage returns as if done;
 * - hasItem is true for items only: a folder (a prefix of other keys) is not an item, as getItem's null says;
 * - removeItem also removes the folders it leaves empty, up to (never) the mount's own folder: a
 *   finished training's checkpoint folder, a purged run's result folders do not stay behind empty.
 */
export const fsAtomicDriver = defineDriver((options: FsAtomicOptions) => {
  const base = resolve(options.base)
  const inner = fsDriver({
    base,
    readOnly: options.readOnly,
    ignore: [...(options.ignore ?? ['**/node_modules/**', '**/.git/**']), `**/*${TMP_MARK}*`],
  })
  /** An item key: a relative file path under the mount (storage/keys.ts), not empty. */
  const checkKey = (key: string) => {
    const why = key ? storageKeyProblem(key) : 'it is empty'
    if (why) throw invalidStorageKey(key, why)
    return key
  }
  const pathOf = (key: string) => join(base, checkKey(key).replace(/:/g, '/'))
  const writable = (key: string, op: string) => {
    if (options.readOnly)
      throw new KtrdrError({
        code: 'STORAGE_READ_ONLY',
        message: `This storage mount is read-only; refusing to ${op} ${key.replace(/:/g, '/') || '(the whole mount)'}`,
        details: { key, op },
      })
  }
  async function writeAtomic(key: string, value: string | Uint8Array) {
    writable(key, 'write')
    await writeFileAtomic(pathOf(key), value)
  }
  return {
    ...inner,
    name: 'fs-atomic',
    options,
    hasItem: (key: string) =>
      fsp.stat(pathOf(key)).then(
        (s) => s.isFile(),
        () => false,
      ),
    getItem: (key: string) => inner.getItem(checkKey(key)),
    getItemRaw: (key: string) => inner.getItemRaw!(checkKey(key)),
    getMeta: (key: string) => inner.getMeta!(checkKey(key)),
    setItem: (key: string, value: string) => writeAtomic(key, value),
    setItemRaw: (key: string, value: unknown) => writeAtomic(key, toBytes(value)),
    removeItem: async (key: string) => {
      writable(checkKey(key), 'remove')
      await inner.removeItem!(key)
      await removeEmptyFolders(base, dirname(pathOf(key)))
    },
    clear: (prefix?: string) => {
      writable(prefix ?? '', 'clear')
      return inner.clear!(prefix)
    },
  }
})

/**
 * Removes `dir` and its parents while they are empty, stopping below `base`. rmdir(2) refuses a
 * folder with anything in it, so a concurrent write's temporary file keeps its folder; a writer
 * whose folder goes between its mkdir and its open retries (writeFileAtomic).
 */
async function removeEmptyFolders(base: string, dir: string): Promise<void> {
  while (dir.startsWith(base + sep)) {
    try {
      await fsp.rmdir(dir)
    } catch {
      return // not empty, already gone, or not ours to remove: the folders above are not empty either
    }
    dir = dirname(dir)
  }
}

function toBytes(value: unknown): Uint8Array | string {
  if (typeof value === 'string' || value instanceof Uint8Array) return value
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  throw new TypeError(`setItemRaw expects bytes, got ${typeof value}`)
}
