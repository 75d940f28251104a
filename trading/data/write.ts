import type { Storage } from 'unstorage'
import { KtrdrError } from '../_errors.ts'
import type { DataIssue } from './csv.ts'
import { importVendorCsv, type VendorLayout } from './import.ts'
import { formatIsoSeconds } from './_time.ts'
import { listDatasets, readMeta, saveBars, type DatasetMeta } from './store.ts'
import { generateSyntheticSeries, SYNTHETIC_GENERATOR, type SyntheticOptions } from './synthetic.ts'

// The two ways bars reach the data mount from outside a function: a vendor CSV, a generated
// synthetic set. `ktrdr data import|generate` (local) and the research API's PUT/generate routes
// (a remote cluster) both call these, so they validate and store exactly alike.

export interface StoredImport {
  key: string
  symbol: string
  timeframe: string
  layout: VendorLayout
  /** Rows taken from the file (after duplicates were dropped). */
  imported: number
  /** Bars in the stored dataset afterwards (more than `imported` after a merge). */
  stored: number
  duplicatesDropped: number
  /** Rows that could not be read and were skipped, by 1-based line of the file (at most 100). */
  skipped: DataIssue[]
  start: string | null
  end: string | null
}

/**
 * A vendor CSV into the data mount, the one way `ktrdr data import` (local) and
 * `PUT /api/v1/data/:symbol/:timeframe` (a remote cluster) both take: layout detected, unreadable
 * rows skipped and reported by line, rows that break high/low bounds refuse the whole file
 * (422 `DATA_INVALID` naming each line), nothing written unless every kept row is valid. `merge`
 * merges into what is stored (new rows win), else the file replaces it. The write itself is
 * temp-and-rename, so readers see the old dataset or the new one.
 */
export async function importCsvToStore(
  data: Storage,
  text: string,
  options: { symbol: string; timeframe: string; merge?: boolean },
): Promise<StoredImport> {
  const result = importVendorCsv(text, options)
  const bad = result.issues.filter((i) => /^(high|low) /.test(i.message))
  if (bad.length)
    throw new KtrdrError({
      code: 'DATA_INVALID',
      message: `${bad.length} rows break high ≥ max(open, close) / low ≤ min(open, close) (${bad
        .slice(0, 5)
        .map((i) => `line ${i.line}: ${i.message}`)
        .join('; ')}): fix the file; nothing was written`,
      details: { issues: result.issues },
    })
  if (!result.series.length)
    throw new KtrdrError({
      code: 'DATA_INVALID',
      message: `No readable rows${
        result.issues.length
          ? ` (${result.issues
              .slice(0, 3)
              .map((i) => `line ${i.line}: ${i.message}`)
              .join('; ')})`
          : ' after the header'
      }: nothing was written`,
      details: { issues: result.issues },
    })
  const saved = await saveBars(data, result.series, { merge: options.merge, meta: { source: `import:${result.layout}` } })
  const s = result.series
  return {
    key: saved.key,
    symbol: s.symbol,
    timeframe: s.timeframe,
    layout: result.layout,
    imported: s.length,
    stored: saved.bars,
    duplicatesDropped: result.duplicatesDropped,
    skipped: result.issues,
    start: s.length ? formatIsoSeconds(s.time[0]) : null,
    end: s.length ? formatIsoSeconds(s.time[s.length - 1]) : null,
  }
}

export interface StoredSynthetic {
  key: string
  symbol: string
  timeframe: string
  bars: number
  start: string | null
  end: string | null
  meta: DatasetMeta
}

/**
 * Refuses (409 `DATA_EXISTS`) when bars are stored under SYMBOL TIMEFRAME: generated or derived
 * data replaces a dataset only on purpose (`force`), never by accident.
 */
export async function refuseOverwrite(data: Storage, symbol: string, timeframe: string, force = false): Promise<void> {
  if (force) return
  const [existing] = await listDatasets(data, { symbol, timeframe })
  if (!existing) return
  throw new KtrdrError({
    code: 'DATA_EXISTS',
    message: `${existing.key} already holds ${existing.bars} ${existing.synthetic ? 'SYNTHETIC ' : ''}bars (${existing.start} → ${existing.end}): pass --force (force: true over the API) to replace them; nothing was written`,
    details: { key: existing.key, bars: existing.bars, synthetic: existing.synthetic },
  })
}

/**
 * A seeded SYNTHETIC set, marked as such in its `.meta.json`. It replaces a stored dataset only
 * with `force` (else 409 `DATA_EXISTS`, nothing written).
 */
export async function storeSyntheticSeries(
  data: Storage,
  options: SyntheticOptions,
  { force = false }: { force?: boolean } = {},
): Promise<StoredSynthetic> {
  const series = generateSyntheticSeries(options)
  await refuseOverwrite(data, series.symbol, series.timeframe, force)
  const seed = options.seed ?? 42
  const saved = await saveBars(data, series, {
    meta: {
      synthetic: true,
      generator: SYNTHETIC_GENERATOR,
      seed,
      preset: options.preset ?? 'forex',
      structure: options.structure ?? 'none',
    },
  })
  const meta = (await readMeta(data, series.symbol, series.timeframe)) ?? { synthetic: true }
  return {
    key: saved.key,
    symbol: series.symbol,
    timeframe: series.timeframe,
    bars: saved.bars,
    start: series.length ? formatIsoSeconds(series.time[0]) : null,
    end: series.length ? formatIsoSeconds(series.time[series.length - 1]) : null,
    meta,
  }
}
