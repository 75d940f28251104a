import { randomBytes } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
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
    const handle = await openInFolder(tmp)
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

/**
 * Creates the folder and opens `path` for writing in it. Removing a folder's last item removes the
 * folder (drivers/fs-atomic.ts), which can land between the mkdir and the open: mkdir again.
 */
async function openInFolder(path: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await fsp.mkdir(dirname(path), { recursive: true })
    try {
      return await fsp.open(path, 'w')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw error
    }
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
