import { promises as fsp } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'

/**
 * Cross-process mutex on a lock file created with O_EXCL. A holder that died leaves the file
 * behind, so a lock older than `staleMs` (real time: the holder only ever keeps it for one
 * read-modify-write of a small JSON file) is broken.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: { staleMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const staleMs = options.staleMs ?? 10_000
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted()
    try {
      const handle = await fsp.open(lockPath, 'wx')
      await handle.writeFile(String(process.pid))
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const stat = await fsp.stat(lockPath).catch(() => undefined)
      if (stat && Date.now() - stat.mtimeMs > staleMs) {
        await fsp.rm(lockPath, { force: true })
        continue
      }
      await delay(Math.min(2 + attempt, 20))
    }
  }
  try {
    return await fn()
  } finally {
    await fsp.rm(lockPath, { force: true })
  }
}
