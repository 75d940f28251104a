import { join, resolve } from 'node:path'
import { defineDriver } from 'unstorage'
import fsDriver from 'unstorage/drivers/fs'
import { TMP_MARK, writeFileAtomic } from '../_atomic.ts'
import { assertStorageKey } from '../keys.ts'

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
    assertStorageKey(key)
    return join(base, key.replace(/:/g, '/'))
  }
  // Every key is checked before it reaches fs: a NUL, a control character or an over-long name
  // is a 400 naming it, not an fs error carrying this machine's path.
  const checked =
    <A extends unknown[], R>(fn: (key: string, ...rest: A) => R) =>
    (key: string, ...rest: A): R => {
      if (key) assertStorageKey(key)
      return fn(key, ...rest)
    }
  async function writeAtomic(key: string, value: string | Uint8Array) {
    if (options.readOnly) throw new Error(`Storage at ${base} is read-only; refusing to write ${key}`)
    await writeFileAtomic(pathOf(key), value)
  }
  return {
    ...inner,
    name: 'fs-atomic',
    options,
    hasItem: checked(inner.hasItem),
    getItem: checked(inner.getItem),
    getItemRaw: checked(inner.getItemRaw!),
    getMeta: checked(inner.getMeta!),
    removeItem: checked(inner.removeItem!),
    getKeys: checked(inner.getKeys),
    clear: checked(inner.clear!),
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
