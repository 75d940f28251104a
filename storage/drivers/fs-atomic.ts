import { join, resolve } from 'node:path'
import { defineDriver } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs'
import { TMP_MARK, writeFileAtomic } from '../_atomic.ts'

export interface FsAtomicOptions {
  base: string
  readOnly?: boolean
  ignore?: string[]
}

/**
 * unstorage's fs driver with atomic writes (writeFileAtomic): a reader or a crash never sees half
 * a bundle, model or CSV, and a failed write leaves no temporary file behind.
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
    await writeFileAtomic(pathOf(key), value)
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
