import { promises as fsp } from 'node:fs'
import { dirname } from 'node:path'
import { randomUUID } from 'node:crypto'
import type { Storage } from 'unstorage'
import { resolveLocalPath, type KtrdrStorage } from '../../storage/index.ts'
import { modelDirName, modelLatestKey, modelVersionKey, type LatestPointer } from '../index.ts'

export type { LatestPointer }

export async function listVersions(models: Storage, strategy: string, timeframe: string): Promise<number[]> {
  const keys = await models.getKeys(`${modelDirName(strategy)}:`)
  const re = new RegExp(`^${modelDirName(strategy)}:${timeframe}_v(\\d+):`)
  const seen = new Set<number>()
  for (const key of keys) {
    const m = re.exec(key)
    if (m) seen.add(Number(m[1]))
  }
  return [...seen].sort((a, b) => a - b)
}

/**
 * Claims the next free `<strategy>/<tf>_v<N>` by creating `<tf>_v<N>/claim.json` if absent.
 * On an fs mount (local or NFS) creation is an exclusive open (O_CREAT|O_EXCL), so two trainings —
 * in one process or on two hosts sharing the mount — can never get the same N. Other drivers have
 * no create-if-absent primitive: there we write a unique token and read it back after a pause,
 * which only narrows the race; use an fs mount for models when trainings run concurrently.
 */
export async function claimModelVersion(
  storage: Pick<KtrdrStorage, 'models' | 'options'>,
  strategy: string,
  timeframe: string,
  owner: Record<string, unknown> = {},
): Promise<{ version: number; key: string }> {
  const dir = modelDirName(strategy)
  let n = Math.max(0, ...(await listVersions(storage.models, strategy, timeframe))) + 1
  for (let attempt = 0; attempt < 1000; attempt++, n++) {
    const key = modelVersionKey(strategy, timeframe, n)
    const claimKey = `${key}/claim.json`
    const token = randomUUID()
    const body = JSON.stringify({ token, claimed_at: new Date().toISOString(), ...owner })
    const local = resolveLocalPath(storage.options, 'models', claimKey)
    if (local) {
      await fsp.mkdir(dirname(local), { recursive: true })
      try {
        const handle = await fsp.open(local, 'wx')
        await handle.writeFile(body)
        await handle.close()
        return { version: n, key }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue
        throw error
      }
    }
    if (await storage.models.hasItem(claimKey)) continue
    await storage.models.setItem(claimKey, body)
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100))
    const back = await storage.models.getItem<{ token?: string }>(claimKey)
    if (back && typeof back === 'object' && back.token === token) return { version: n, key }
  }
  throw new Error(`Could not claim a model version for ${dir}/${timeframe}: 1000 versions taken in a row`)
}

async function withLock<T>(storage: Pick<KtrdrStorage, 'options'>, key: string, fn: () => Promise<T>): Promise<T> {
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

/**
 * `<tf>_latest` is a JSON record (no symlinks: works on every driver) naming the highest
 * complete version (one with metadata.json), recomputed by every save. On fs the update runs
 * under an exclusive lock file, so concurrent saves always leave it on the newest version; on
 * other drivers the last writer wins, which the recomputation makes rarely wrong.
 */
export async function updateLatestPointer(
  storage: Pick<KtrdrStorage, 'models' | 'options'>,
  strategy: string,
  timeframe: string,
): Promise<LatestPointer | null> {
  const dir = modelDirName(strategy)
  const pointerKey = modelLatestKey(strategy, timeframe)
  return withLock(storage, `${dir}/.${timeframe}_latest.lock`, async () => {
    const versions = await listVersions(storage.models, strategy, timeframe)
    for (let i = versions.length - 1; i >= 0; i--) {
      const key = modelVersionKey(strategy, timeframe, versions[i])
      if (!(await storage.models.hasItem(`${key}/metadata.json`))) continue
      const pointer: LatestPointer = { version: versions[i], key, updated_at: new Date().toISOString() }
      await storage.models.setItem(pointerKey, JSON.stringify(pointer))
      return pointer
    }
    return null
  })
}
