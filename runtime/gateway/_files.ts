import { createReadStream, promises as fsp } from 'node:fs'
import { extname, relative, isAbsolute } from 'node:path'
import type { H3Event } from 'h3'
import { sendStream, setResponseHeader } from 'h3'
import type { KtrdrStorage, MountName } from '../../storage/index.ts'
import { resolveLocalPath, storageKeyProblem } from '../../storage/index.ts'
import { KtrdrError } from '../protocol/index.ts'

const TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.yaml': 'application/yaml; charset=utf-8',
  '.yml': 'application/yaml; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
}

export function contentTypeOf(key: string): string {
  return TYPES[extname(key).toLowerCase()] ?? 'application/octet-stream'
}

/**
 * A storage key from a URL path (`backtests/op_x/EURUSD/run_0/trades.json`). Each segment is
 * decoded and checked on its own, so neither `..` nor `%2e%2e`, a `:` (unstorage's separator),
 * a backslash nor a hidden file (`.tmp` leftovers of atomic writes, lock files) can name anything
 * outside the mount or half-written. Empty → ''.
 */
export function parseStoreKey(rawPath: string, what: string): string {
  const segments = rawPath
    .split('?')[0]
    .split('/')
    .filter((s) => s !== '')
  const out: string[] = []
  for (const raw of segments) {
    let s: string
    try {
      s = decodeURIComponent(raw)
    } catch (cause) {
      throw new KtrdrError({
        code: 'INVALID_KEY',
        message: `${what} key segment "${raw}" is not valid percent-encoding`,
        cause,
      })
    }
    const problem = storageKeyProblem(s)
    if (problem) {
      const shown = JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s)
      throw new KtrdrError({
        code: 'INVALID_KEY',
        message: `${what} key segment ${shown} is not allowed: ${problem}`,
      })
    }
    if (s.startsWith('.') || /[:\\\0/]/.test(s)) {
      throw new KtrdrError({
        code: 'INVALID_KEY',
        message: `${what} key segment "${s}" is not allowed: use plain names separated by "/" (no ".", "..", hidden files, ":" or "\\")`,
      })
    }
    out.push(s)
  }
  return out.join('/')
}

/** Keys under `prefix` (slash-separated, sorted), hidden files and lock files left out. */
export async function listStoreKeys(storage: KtrdrStorage, mount: MountName, prefix: string, limit = 10_000): Promise<string[]> {
  const base = prefix ? `${prefix.replace(/\//g, ':')}:` : ''
  const keys = (await storage[mount].getKeys(base))
    .map((k) => k.replace(/:/g, '/'))
    .filter((k) => !k.split('/').some((s) => s.startsWith('.')))
    .sort()
  return keys.slice(0, limit)
}

/**
 * Streams a stored file: from disk when the mount is a local/NFS folder (large equity curves
 * never sit in memory), through the driver otherwise. Undefined when the key does not exist.
 */
export async function sendStoredFile(event: H3Event, storage: KtrdrStorage, mount: MountName, key: string): Promise<unknown> {
  const local = resolveLocalPath(storage.options, mount, key)
  if (local) {
    // parseStoreKey already refuses "..": this is the second lock on the same door.
    const root = resolveLocalPath(storage.options, mount, '')!
    const rel = relative(root, local)
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) return undefined
    const stat = await fsp.stat(local).catch(() => null)
    if (!stat?.isFile()) return undefined
    setResponseHeader(event, 'content-type', contentTypeOf(key))
    setResponseHeader(event, 'content-length', stat.size)
    return sendStream(event, createReadStream(local))
  }
  if (!(await storage[mount].hasItem(key))) return undefined
  const raw = await storage[mount].getItemRaw(key)
  if (raw == null) return undefined
  const bytes = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw as Uint8Array)
  setResponseHeader(event, 'content-type', contentTypeOf(key))
  setResponseHeader(event, 'content-length', bytes.length)
  return bytes
}

/** Size in bytes from the driver's metadata (fs: stat), else by reading the item; null if absent. */
export async function storedSize(storage: KtrdrStorage, mount: MountName, key: string): Promise<number | null> {
  try {
    const meta = (await storage[mount].getMeta(key)) as { size?: unknown }
    if (typeof meta?.size === 'number') return meta.size
  } catch {
    /* fall through to reading it */
  }
  const raw = await storage[mount].getItemRaw(key).catch(() => null)
  if (raw == null) return null
  return typeof raw === 'string' ? Buffer.byteLength(raw) : (raw as Uint8Array).byteLength
}
