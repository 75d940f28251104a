import { promises as fsp } from 'node:fs'
import { dirname } from 'node:path'
import { resolveLocalPath, type KtrdrStorage } from '../../storage/index.ts'

/**
 * Runs `fn` holding `<key>` (a lock file in the models mount) when the mount is on fs: created
 * with O_EXCL, so writers of pointers and tags in one process or on several hosts sharing the
 * mount take turns. Other drivers have no such primitive: `fn` runs unguarded and the last writer wins.
 */
export async function withModelsLock<T>(storage: Pick<KtrdrStorage, 'options'>, key: string, fn: () => Promise<T>): Promise<T> {
  const local = resolveLocalPath(storage.options, 'models', key)
  if (!local) return fn()
  await fsp.mkdir(dirname(local), { recursive: true })
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      await (await fsp.open(local, 'wx')).close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      // A holder that died leaves its lock behind; pointer updates take milliseconds.
      const age = await fsp.stat(local).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      )
      if (age > 30_000 || Date.now() > deadline) await fsp.rm(local, { force: true })
      else await new Promise((r) => setTimeout(r, 10 + Math.random() * 20))
    }
  }
  try {
    return await fn()
  } finally {
    await fsp.rm(local, { force: true })
  }
}
