import { promises as fsp } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { defineDriver } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs'

export interface FsAtomicOptions {
  base: string
  readOnly?: boolean
  ignore?: string[]
}

const TMP_MARK = '.tmp-'

/**
 * unstorage's fs driver with atomic writes: every write goes to a temporary sibling, is
 * fsync'ed and renamed over the target, so a reader (or a crash) never sees half a bundle,
 * model or CSV. rename(2) is atomic on local filesystems and on NFS within one directory.
 */
export const fsAtomicDriver = defineDriver((options: FsAtomicOptions) => {
  const base = resolve(options.base)
  const inner = fsDriver({
    base,
    readOnly: options.readOnly,
    ignore: [...(options.ignore ?? ['**/node_modules/**', '**/.git/**']), `**/*${TMP_MARK}*`],
  })
  const pathOf = (key: string) => {
    if (/\.\.:|\.\.$/.test(key)) throw new Error(`Invalid storage key ${JSON.stringify(key)}: it must not contain .. segments`)
    return join(base, key.replace(/:/g, '/'))
  }
  async function writeAtomic(key: string, value: string | Uint8Array) {
    if (options.readOnly) throw new Error(`Storage at ${base} is read-only; refusing to write ${key}`)
    const target = pathOf(key)
    await fsp.mkdir(dirname(target), { recursive: true })
    const tmp = `${target}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`
    const handle = await fsp.open(tmp, 'w')
    try {
      await handle.writeFile(value)
      await handle.sync()
    } finally {
      await handle.close()
    }
    try {
      await fsp.rename(tmp, target)
    } catch (error) {
      await fsp.rm(tmp, { force: true })
      throw error
    }
  }
  return {
    ...inner,
    name: 'fs-atomic',
    options,
    setItem: (key: string, value: string) => writeAtomic(key, value),
    setItemRaw: (key: string, value: unknown) => writeAtomic(key, toBytes(value)),
  }
})

function toBytes(value: unknown): Uint8Array | string {
  if (typeof value === 'string' || value instanceof Uint8Array) return value
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  throw new TypeError(`setItemRaw expects bytes, got ${typeof value}`)
}
