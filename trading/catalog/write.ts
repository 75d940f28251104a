import type { KtrdrStorage } from '../../storage/index.ts'
import { KtrdrError } from '../_errors.ts'
import {
  MODEL_VERSION_DIR_RE,
  modelDirName,
  modelLatestKey,
  modelSetLatestKey,
  modelTagKey,
  modelVersionKey,
  symbolSetOf,
  type LatestPointer,
  type ModelTagRecord,
} from '../layout.ts'
import { withModelsLock } from './_lock.ts'
import { checkTag } from './_tag.ts'
import { readJsonItem, readModelCatalog, readVersionSymbols } from './read.ts'

type ModelsStorage = Pick<KtrdrStorage, 'models' | 'options'>

/** One lock per strategy and timeframe for every pointer and tag there (the lock file of the layout before symbol sets). */
const lockKey = (strategy: string, timeframe: string) => `${modelDirName(strategy)}/.${timeframe}_latest.lock`

/**
 * After a version is complete (metadata.json written): moves the latest pointer of its symbol set
 * to it unless a higher version of that set is already there (trainings finish out of order),
 * and rewrites `<tf>_latest`, the newest version of any set, for readers that predate symbol sets.
 * Where no set pointer exists yet (a mount written before them) every set gets its pointer now,
 * from the versions' metadata. Returns the pointer of the version's set.
 */
export async function recordModelVersion(
  storage: ModelsStorage,
  strategyName: string,
  timeframe: string,
  version: number,
): Promise<LatestPointer> {
  const key = modelVersionKey(strategyName, timeframe, version)
  return withModelsLock(storage, lockKey(strategyName, timeframe), async () => {
    const symbols = (await readVersionSymbols(storage.models, key)) ?? []
    const set = symbolSetOf(symbols)
    const catalog = await readModelCatalog(storage.models, strategyName)
    const now = new Date().toISOString()
    const pointer: LatestPointer = { version, key, updated_at: now, symbols: set.symbols }
    const entries = catalog.sets.filter((e) => e.timeframe === timeframe)
    const mine = entries.find((e) => e.set === set.name)
    let result = pointer
    if (catalog.derived.includes(timeframe)) {
      for (const e of entries)
        if (e.latest)
          await storage.models.setItem(
            modelSetLatestKey(strategyName, timeframe, e.set),
            JSON.stringify({ ...e.latest, updated_at: now, symbols: e.symbols }),
          )
      if (mine?.latest) result = { ...mine.latest, updated_at: now, symbols: mine.symbols }
    } else if (mine?.latest && mine.latest.version > version) {
      result = mine.latest
    } else {
      await storage.models.setItem(modelSetLatestKey(strategyName, timeframe, set.name), JSON.stringify(pointer))
    }
    const newest = Math.max(...(catalog.versions[timeframe] ?? [version]))
    const legacy: LatestPointer = { version: newest, key: modelVersionKey(strategyName, timeframe, newest), updated_at: now }
    await storage.models.setItem(modelLatestKey(strategyName, timeframe), JSON.stringify(legacy))
    return result
  })
}

/** `<strategy>/<tf>_v<N>` → its parts and its symbol set; 404 when the version is not complete. */
async function completeVersion(storage: ModelsStorage, key: string) {
  const [strategy, dir] = key.split('/')
  const m = MODEL_VERSION_DIR_RE.exec(dir ?? '')
  const symbols = m ? await readVersionSymbols(storage.models, key) : null
  if (!m || !strategy || symbols === null)
    throw new KtrdrError({
      code: 'MODEL_NOT_FOUND',
      message: `No complete model version ${key}: list them with GET /api/v1/models or \`ktrdr model list\``,
      details: { model: key },
    })
  return { strategy, timeframe: m[1], version: Number(m[2]), set: symbolSetOf(symbols) }
}

/**
 * Pins `tag` to a complete version, for its strategy, timeframe and symbol set: a tag names one
 * version per set, so tagging another version of the set moves it (the record keeps where it was).
 */
export async function tagModelVersion(storage: ModelsStorage, key: string, tag: string): Promise<ModelTagRecord> {
  checkTag(tag)
  const v = await completeVersion(storage, key)
  return withModelsLock(storage, lockKey(v.strategy, v.timeframe), async () => {
    const tagKey = modelTagKey(v.strategy, v.timeframe, v.set.name, tag)
    const before = await readJsonItem(storage.models, tagKey)
    const was =
      before && typeof before.version === 'number' && typeof before.key === 'string' ? { version: before.version, key: before.key } : null
    const record: ModelTagRecord = {
      tag,
      version: v.version,
      key,
      timeframe: v.timeframe,
      symbols: v.set.symbols,
      updated_at: new Date().toISOString(),
      previous: was && was.version !== v.version ? was : ((before?.previous as ModelTagRecord['previous']) ?? null),
    }
    await storage.models.setItem(tagKey, JSON.stringify(record))
    return record
  })
}

/** Removes `tag` from a version; 404 naming where the tag is when the version does not carry it. */
export async function untagModelVersion(storage: ModelsStorage, key: string, tag: string): Promise<ModelTagRecord> {
  checkTag(tag)
  const v = await completeVersion(storage, key)
  return withModelsLock(storage, lockKey(v.strategy, v.timeframe), async () => {
    const tagKey = modelTagKey(v.strategy, v.timeframe, v.set.name, tag)
    const record = await readJsonItem(storage.models, tagKey)
    if (!record || record.version !== v.version)
      throw new KtrdrError({
        code: 'MODEL_TAG_NOT_FOUND',
        message: record
          ? `${key} is not tagged ${tag}: the tag is on ${String(record.key)} for ${v.set.symbols.join(',')} ${v.timeframe}`
          : `${key} is not tagged ${tag}: no model of ${v.set.symbols.join(',')} ${v.timeframe} carries that tag`,
        details: { model: key, tag },
      })
    await storage.models.removeItem(tagKey)
    return record as unknown as ModelTagRecord
  })
}
