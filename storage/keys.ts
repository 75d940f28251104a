import { KtrdrError } from '../runtime/protocol/index.ts'

/**
 * What a storage key may be, checked where keys become file names (the fs-atomic driver) and
 * where they arrive over HTTP (the gateway's storage routes): past these a request failed inside
 * fs as a 500 carrying the server's absolute path (ENAMETOOLONG, "path must not contain null
 * bytes"), or stored a file whose name holds a newline.
 */
export const STORAGE_KEY_LIMITS = {
  /**
   * Bytes in one segment: NAME_MAX is 255 on ext4, xfs and NFS, and an atomic write's temporary
   * sibling adds `.tmp-<pid>-<8 hex>` (up to 21 bytes) to the last one.
   */
  segmentBytes: 200,
  /** Bytes in the whole key, well under PATH_MAX (4096) once a mount's base is in front. */
  keyBytes: 1024,
} as const

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return true
  }
  return false
}

/** Why `key` (segments separated by `:`, `/` or `\`) cannot name a stored item; undefined when it can. */
export function storageKeyProblem(key: string): string | undefined {
  if (hasControlCharacter(key)) return 'it must not contain control characters (NUL included)'
  const bytes = Buffer.byteLength(key)
  if (bytes > STORAGE_KEY_LIMITS.keyBytes) return `it is ${bytes} bytes long (at most ${STORAGE_KEY_LIMITS.keyBytes})`
  for (const segment of key.split(/[:/\\]/)) {
    if (segment === '.' || segment === '..') return 'it must not contain . or .. segments'
    // unstorage's fs driver refuses these too (its traversal check), with a plain Error.
    if (segment.endsWith('..')) return 'a segment must not end in ".."'
    const n = Buffer.byteLength(segment)
    if (n > STORAGE_KEY_LIMITS.segmentBytes) return `a segment is ${n} bytes long (at most ${STORAGE_KEY_LIMITS.segmentBytes})`
  }
  return undefined
}

/** 400 STORAGE_KEY_INVALID saying why; the key is shown shortened and escaped, never a server path. */
export function invalidStorageKey(key: string, why: string): KtrdrError {
  return new KtrdrError({
    code: 'STORAGE_KEY_INVALID',
    message: `Invalid storage key ${JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key)}: ${why}`,
    details: { key: key.slice(0, 200) },
  })
}

export function assertStorageKey(key: string): void {
  const why = storageKeyProblem(key)
  if (why) throw invalidStorageKey(key, why)
}
