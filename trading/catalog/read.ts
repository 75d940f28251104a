import type { Storage } from 'unstorage'
import {
  MODEL_FILES,
  MODEL_SETS_DIR_RE,
  MODEL_VERSION_DIR_RE,
  modelDirName,
  modelVersionKey,
  symbolSetOf,
  type LatestPointer,
  type ModelTagRecord,
} from '../layout.ts'

/** One symbol set of a strategy on one timeframe: its newest version and the versions its tags pin. */
export interface ModelSetEntry {
  timeframe: string
  set: string
  symbols: string[]
  latest: LatestPointer | null
  tags: Record<string, ModelTagRecord>
}

/** What the models mount holds for one strategy. */
export interface ModelCatalog {
  /** The strategy's folder name. */
  strategy: string
  /** Complete versions (metadata.json written) per timeframe, ascending. */
  versions: Record<string, number[]>
  sets: ModelSetEntry[]
  /**
   * Timeframes whose sets were worked out from the versions' metadata because no set pointer
   * exists yet: models saved before pointers were kept per symbol set. Nothing has to be migrated;
   * the next save there writes the pointers.
   */
  derived: string[]
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A JSON item, or null when missing or not an object (a damaged pointer reads as no pointer). */
export async function readJsonItem(models: Storage, key: string): Promise<Record<string, unknown> | null> {
  let value: unknown = await models.getItem(key)
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value)
    } catch {
      return null
    }
  }
  return isObject(value) ? value : null
}

const symbolsOf = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [])

/** The symbols a version was trained on, from its metadata.json ([] when it records none). */
export async function readVersionSymbols(models: Storage, key: string): Promise<string[] | null> {
  const meta = await readJsonItem(models, `${key}/${MODEL_FILES.metadata}`)
  return meta ? symbolsOf(meta.training_symbols) : null
}

function asPointer(v: Record<string, unknown> | null): LatestPointer | null {
  if (!v || typeof v.version !== 'number' || typeof v.key !== 'string') return null
  return { version: v.version, key: v.key, updated_at: String(v.updated_at ?? ''), symbols: symbolsOf(v.symbols) }
}

function asTag(v: Record<string, unknown> | null, tag: string, timeframe: string): ModelTagRecord | null {
  const p = asPointer(v)
  if (!p) return null
  const prev = isObject(v!.previous) && typeof v!.previous.version === 'number' ? v!.previous : null
  return {
    tag,
    version: p.version,
    key: p.key,
    timeframe,
    symbols: p.symbols ?? [],
    updated_at: p.updated_at,
    previous: prev ? { version: prev.version as number, key: String(prev.key) } : null,
  }
}

/**
 * Versions, symbol sets, latest pointers and tags of a strategy, from one key listing (`keys`: the
 * mount's keys when the caller has them already). A timeframe without set pointers (written
 * before they existed) gets its sets from the versions' metadata: each set's newest complete version.
 */
export async function readModelCatalog(models: Storage, strategyName: string, keys?: string[]): Promise<ModelCatalog> {
  const dir = modelDirName(strategyName)
  const all = keys ?? (await models.getKeys(`${dir}:`))
  const versions = new Map<string, number[]>()
  const sets = new Map<string, ModelSetEntry>()
  const reads: Array<Promise<void>> = []
  const entryOf = (timeframe: string, set: string) => {
    const id = `${timeframe}:${set}`
    let e = sets.get(id)
    if (!e) sets.set(id, (e = { timeframe, set, symbols: [], latest: null, tags: {} }))
    return e
  }
  for (const k of all) {
    const parts = k.split(':')
    if (parts[0] !== dir || parts.some((p) => p.startsWith('.'))) continue
    const version = MODEL_VERSION_DIR_RE.exec(parts[1] ?? '')
    if (version && parts.length === 3 && parts[2] === MODEL_FILES.metadata) {
      const list = versions.get(version[1]) ?? []
      list.push(Number(version[2]))
      versions.set(version[1], list)
      continue
    }
    const setDir = MODEL_SETS_DIR_RE.exec(parts[1] ?? '')
    if (!setDir) continue
    const timeframe = setDir[1]
    if (parts.length === 4 && parts[3] === 'latest.json') {
      const e = entryOf(timeframe, parts[2])
      reads.push(
        readJsonItem(models, k).then((v) => {
          e.latest = asPointer(v)
          if (e.latest?.symbols?.length) e.symbols = e.latest.symbols
        }),
      )
    } else if (parts.length === 5 && parts[3] === 'tags' && parts[4].endsWith('.json')) {
      const e = entryOf(timeframe, parts[2])
      const tag = parts[4].slice(0, -'.json'.length)
      reads.push(
        readJsonItem(models, k).then((v) => {
          const record = asTag(v, tag, timeframe)
          if (!record) return
          e.tags[tag] = record
          if (!e.symbols.length) e.symbols = record.symbols
        }),
      )
    }
  }
  await Promise.all(reads)
  for (const list of versions.values()) list.sort((a, b) => a - b)

  const derived: string[] = []
  for (const [timeframe, numbers] of versions) {
    if ([...sets.values()].some((e) => e.timeframe === timeframe && e.latest)) continue
    derived.push(timeframe)
    const found = await Promise.all(numbers.map((n) => readVersionSymbols(models, modelVersionKey(dir, timeframe, n))))
    numbers.forEach((n, i) => {
      const set = symbolSetOf(found[i] ?? [])
      const e = entryOf(timeframe, set.name)
      e.symbols = set.symbols
      if (!e.latest || e.latest.version < n)
        e.latest = { version: n, key: modelVersionKey(dir, timeframe, n), updated_at: '', symbols: set.symbols }
    })
  }
  const ordered = [...sets.values()].sort((a, b) => a.timeframe.localeCompare(b.timeframe) || a.set.localeCompare(b.set))
  return { strategy: dir, versions: Object.fromEntries(versions), sets: ordered, derived }
}
