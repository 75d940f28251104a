// The models mount as train writes it (trading/layout.ts), read for the models routes: a version
// folder is complete once its metadata.json exists, which train writes last; the catalogue
// (trading/catalog) says which version is the latest of each symbol set and which carry tags.
import type { Storage } from 'unstorage'
import { z } from 'zod'
import {
  KtrdrError,
  MODEL_FILES,
  MODEL_VERSION_DIR_RE as VERSION_RE,
  readJsonItem,
  readModelCatalog,
  resolveModelReference,
  symbolSetOf,
  type ModelCatalog,
  type ModelWant,
} from '../../trading/index.ts'

type Json = Record<string, any>
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {})
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

export interface VersionSummary {
  version: string
  key: string
  timeframe: string
  number: number
  complete: boolean
  created_at: string | null
  model_type: string | null
  output_type: string | null
  symbols: string[]
  /** The symbol set's folder name (`AAPL+MSFT`). */
  set: string
  /** The newest version of its strategy, timeframe and symbol set. */
  latest: boolean
  tags: string[]
  synthetic: boolean | null
  /** Test metrics beside what they must beat: accuracy vs always-the-majority, MAE vs always-zero. */
  test_accuracy: number | null
  majority_baseline: number | null
  mae: number | null
  zero_return_mae: number | null
  operation_id: string | null
}

/** `?symbol=&timeframe=`: what a `…_latest` or `@tag` reference is resolved for. */
export const wantQuery = {
  symbol: z.string().max(2000).optional().describe('Symbols the model must have been trained on, comma-separated: picks the symbol set'),
  timeframe: z.string().max(8).optional().describe('Timeframe, for a reference without one (`@production`)'),
}

export function wantOf(q: { symbol?: string; timeframe?: string }): ModelWant {
  const symbols = (q.symbol ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  return { symbols, ...(q.timeframe ? { timeframe: q.timeframe } : {}) }
}

export function modelNotFound(strategy: string, version: string): KtrdrError {
  return new KtrdrError({
    code: 'MODEL_NOT_FOUND',
    message: `No model version "${strategy}/${version}": name one as <timeframe>_v<N>, <timeframe>_latest, @<tag> or <timeframe>@<tag>; list them with GET /api/v1/models`,
    details: { model: `${strategy}/${version}` },
  })
}

/**
 * The version folder a route's `:version` means: `1h_v3` as it is; `1h_latest`, `@production`,
 * `1h@production` and `@latest` resolved by the catalogue for `want`.
 */
export async function resolveVersionParam(models: Storage, strategy: string, asked: string, want: ModelWant = {}): Promise<string> {
  if (VERSION_RE.test(asked)) return asked
  const ref = asked.startsWith('@') ? `${strategy}${asked}` : `${strategy}/${asked}`
  const resolved = /_latest$|@/.test(asked) ? await resolveModelReference(models, ref, want) : null
  if (!resolved) throw modelNotFound(strategy, asked)
  return resolved.key.split('/').pop()!
}

/** A model reference as the CLI and compare take it: `strategy/1h_v3`, `strategy/1h_latest`, `strategy@tag`, `strategy/1h@tag`. */
export function splitModelRef(ref: string): { strategy: string; version: string } {
  const at = ref.indexOf('@')
  const slash = ref.indexOf('/')
  if (at > 0 && (slash < 0 || slash > at)) return { strategy: ref.slice(0, at), version: ref.slice(at) }
  if (slash > 0 && slash < ref.length - 1) return { strategy: ref.slice(0, slash), version: ref.slice(slash + 1) }
  throw new KtrdrError({
    code: 'BAD_REQUEST',
    message: `"${ref}" does not name a model: use <strategy>/<timeframe>_v<N>, <strategy>/<timeframe>_latest or <strategy>@<tag>`,
    details: { field: 'models', model: ref },
  })
}

/** Tags per version key, and the version each set's latest pointer names. */
export function catalogIndex(catalog: ModelCatalog) {
  const tags = new Map<string, string[]>()
  const latest = new Set<string>()
  for (const e of catalog.sets) {
    if (e.latest) latest.add(`${e.timeframe}_v${e.latest.version}`)
    for (const t of Object.values(e.tags)) {
      const v = `${e.timeframe}_v${t.version}`
      tags.set(v, [...(tags.get(v) ?? []), t.tag].sort())
    }
  }
  return { tags, latest }
}

/** One version's row: identity, symbol set, tags, and the test metrics beside their baselines. */
export async function summariseVersion(
  models: Storage,
  strategy: string,
  version: string,
  complete: boolean,
  index: ReturnType<typeof catalogIndex>,
): Promise<VersionSummary> {
  const [, timeframe, n] = VERSION_RE.exec(version)!
  const [meta, metrics] = complete
    ? await Promise.all([
        readJsonItem(models, `${strategy}:${version}:${MODEL_FILES.metadata}`),
        readJsonItem(models, `${strategy}:${version}:${MODEL_FILES.metrics}`),
      ])
    : [null, null]
  const test = obj(metrics?.test_metrics)
  const set = symbolSetOf(Array.isArray(meta?.training_symbols) ? (meta.training_symbols as string[]) : [])
  return {
    version,
    key: `${strategy}/${version}`,
    timeframe,
    number: Number(n),
    complete,
    created_at: typeof meta?.created_at === 'string' ? meta.created_at : null,
    model_type: typeof meta?.model_type === 'string' ? meta.model_type : null,
    output_type: typeof meta?.output_type === 'string' ? meta.output_type : null,
    symbols: set.symbols,
    set: set.name,
    latest: index.latest.has(version),
    tags: index.tags.get(version) ?? [],
    synthetic: typeof obj(meta?.data).synthetic === 'boolean' ? obj(meta?.data).synthetic : null,
    test_accuracy: num(test.test_accuracy),
    majority_baseline: num(test.majority_baseline),
    mae: num(test.mae),
    zero_return_mae: num(obj(obj(test.baselines).zero_return).mae),
    operation_id: typeof meta?.operation_id === 'string' ? meta.operation_id : null,
  }
}

/** Version folders of one strategy among `keys` (the mount's), with whether each is complete. */
export function versionFolders(keys: string[], strategy: string): Map<string, boolean> {
  const out = new Map<string, boolean>()
  for (const k of keys) {
    const parts = k.split(':')
    if (parts[0] !== strategy || parts.length !== 3 || !VERSION_RE.test(parts[1]) || parts[2].startsWith('.')) continue
    out.set(parts[1], (out.get(parts[1]) ?? false) || parts[2] === MODEL_FILES.metadata)
  }
  return out
}

export async function readModelFiles(models: Storage, strategy: string, version: string) {
  const [metadata, metrics] = await Promise.all([
    readJsonItem(models, `${strategy}:${version}:${MODEL_FILES.metadata}`),
    readJsonItem(models, `${strategy}:${version}:${MODEL_FILES.metrics}`),
  ])
  return { metadata, metrics }
}

export { readModelCatalog }
