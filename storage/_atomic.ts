import { randomBytes } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import { dirname } from 'node:path'
import { KtrdrError } from '../runtime/protocol/index.ts'

/** Every temporary sibling of an atomic write is `<target>.tmp-<pid>-<8 hex>` (see TEMP_NAME). */
export const TMP_MARK = '.tmp-'

/**
 * Our own temp names only: `<target>.tmp-<pid>-<8 hex>` (files) and `.tmp-<sha prefix>-<8 hex>`
 * (bundle directories of the host cache). A sweep never touches anything else.
 */
export const TEMP_NAME = /\.tmp-[0-9a-f]+-[0-9a-f]{8}$/

export function tempPathFor(target: string): string {
  return `${target}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`
}

/**
 * Writes `value` to a temporary sibling, fsyncs it and renames it over `target`, so a reader
 * (or a crash) never sees half a file. rename(2) is atomic on local filesystems and on NFS within
 * one directory. Whatever fails (ENOSPC mid-write included) removes the temporary file: a full
 * disk must not stay full with hidden leftovers.
 */
export async function writeFileAtomic(target: string, value: string | Uint8Array, options: { fsync?: boolean } = {}): Promise<void> {
  const tmp = tempPathFor(target)
  try {
    await fsp.mkdir(dirname(target), { recursive: true })
    const handle = await fsp.open(tmp, 'w')
    try {
      await handle.writeFile(value)
      if (options.fsync !== false) await handle.sync()
    } finally {
      await handle.close()
    }
    await fsp.rename(tmp, target)
  } catch (error) {
    await fsp.rm(tmp, { force: true }).catch(() => {})
    throw storageWriteError(error, target)
  }
}

/** A full disk or quota is the operator's to fix, and the caller's to hear about as such (507), not as a 500. */
export function storageWriteError(error: unknown, target: string): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return error
  return new KtrdrError({
    code: 'STORAGE_FULL',
    cause: error,
    message: `No space left to write ${target} (${code}): free space on that filesystem or raise its quota, then retry`,
    details: { path: target, errno: code },
  })
}
