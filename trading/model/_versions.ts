import { promises as fsp } from 'node:fs'
import { dirname } from 'node:path'
import { randomUUID } from 'node:crypto'
import type { Storage } from 'unstorage'
import { resolveLocalPath, type KtrdrStorage } from '../../storage/index.ts'
import { modelDirName, modelVersionKey } from '../index.ts'

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
