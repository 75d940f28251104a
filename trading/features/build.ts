import { KtrdrError } from '../_errors.ts'
import { timeframeMs } from '../data/_symbols.ts'
import { fuzzifyInto } from '../fuzzy/membership.ts'
import { getIndicator } from '../strategy/_indicators.ts'
import type { FeatureSpec, NormalizationMethod, ResolvedStrategy } from '../strategy/types.ts'
import type { FeatureMatrix, OhlcvSeries } from '../types.ts'
import { alignByClose } from './align.ts'
import { applyNormalization, type NormalizationParams } from './normalization.ts'

export interface BuildFeatureOptions {
  /** Fitted parameters (inference): applied to raw columns after building. */
  normalization?: NormalizationParams
  signal?: AbortSignal
}

export interface BuiltFeatureMatrix extends FeatureMatrix {
  /** Per column: the raw input's normalization method (`none` for fuzzy columns). */
  normalization: NormalizationMethod[]
  /** Whether `normalization` parameters were already applied to `values`. */
  normalized: boolean
  symbol: string
  timeframe: string
  synthetic?: boolean
}

export type SeriesByTimeframe = Record<string, OhlcvSeries> | Map<string, OhlcvSeries>

/** Indicator outputs per timeframe, computed once; exposed so backtests can reuse them. */
export function computeStrategyIndicators(
  strategy: ResolvedStrategy,
  series: OhlcvSeries,
  ids: Iterable<string>,
): Map<string, Record<string, Float64Array>> {
  const out = new Map<string, Record<string, Float64Array>>()
  for (const id of ids) {
    const ind = strategy.indicators[id]
    if (ind.data_source) {
      throw new KtrdrError({
        code: 'FEATURES_CONTEXT_DATA_UNSUPPORTED',
        message: `Indicator ${id} reads context_data source "${ind.data_source}", which the feature builder does not load yet: compute it on the primary series or drop it`,
      })
    }
    const def = getIndicator(ind.type)
    if (!def) throw new KtrdrError({ code: 'INDICATOR_UNKNOWN', message: `Unknown indicator type ${ind.type}` })
    const need = def.minBars(ind.params)
    if (series.length < need) {
      throw new KtrdrError({
        code: 'DATA_INSUFFICIENT',
        message: `${series.symbol} ${series.timeframe}: ${id} (${ind.type}) needs at least ${need} bars, got ${series.length}: load a longer date range`,
      })
    }
    out.set(id, def.compute(series, ind.params))
  }
  return out
}

function pick(outputs: Record<string, Float64Array>, spec: FeatureSpec, strategy: ResolvedStrategy): Float64Array {
  const ind = strategy.indicators[spec.indicator]
  const key = spec.output ?? ind.outputs[0]
  const arr = outputs[key] ?? (ind.multi_output ? undefined : Object.values(outputs)[0])
  if (!arr)
    throw new KtrdrError({
      code: 'INDICATOR_OUTPUT_MISSING',
      message: `Indicator ${spec.indicator} (${ind.type}) returned no "${key}" output`,
    })
  return arr
}

function getSeries(map: SeriesByTimeframe, tf: string): OhlcvSeries | undefined {
  return map instanceof Map ? map.get(tf) : map[tf]
}

/**
 * The model's input matrix on the base timeframe, columns in canonical `resolved_features`
 * order. Indicators are computed on each timeframe's native bars (only those some feature
 * needs); other timeframes are aligned by close time (see alignByClose), so no row sees a bar
 * that has not closed. Warm-up cells stay NaN; `firstValidRow` is the first all-finite row.
 */
export function buildFeatureMatrix(
  strategy: ResolvedStrategy,
  seriesByTimeframe: SeriesByTimeframe,
  options: BuildFeatureOptions = {},
): BuiltFeatureMatrix {
  const baseTf = strategy.training_data.base_timeframe
  const base = getSeries(seriesByTimeframe, baseTf)
  if (!base) throw missingTimeframe(strategy, baseTf)
  const specs = strategy.features
  const rows = base.length
  const cols = specs.length
  const values = new Float32Array(rows * cols)
  const byTf = new Map<string, number[]>()
  specs.forEach((s, c) => {
    const list = byTf.get(s.timeframe) ?? []
    list.push(c)
    byTf.set(s.timeframe, list)
  })
  const baseMs = timeframeMs(baseTf)
  for (const [tf, columns] of byTf) {
    options.signal?.throwIfAborted()
    const series = getSeries(seriesByTimeframe, tf)
    if (!series) throw missingTimeframe(strategy, tf)
    const outputs = computeStrategyIndicators(strategy, series, new Set(columns.map((c) => specs[c].indicator)))
    const idx = tf === baseTf ? null : alignByClose(base.time, baseMs, series.time, timeframeMs(tf))
    for (const c of columns) {
      const spec = specs[c]
      const x = pick(outputs.get(spec.indicator)!, spec, strategy)
      if (spec.kind === 'fuzzy') fuzzifyInto(spec.membership!, x, idx, values, rows, cols, c)
      else if (idx === null) for (let r = 0, o = c; r < rows; r++, o += cols) values[o] = x[r]
      else
        for (let r = 0, o = c; r < rows; r++, o += cols) {
          const j = idx[r]
          values[o] = j < 0 ? Number.NaN : x[j]
        }
    }
  }
  const matrix: BuiltFeatureMatrix = {
    names: specs.map((s) => s.name),
    rows,
    cols,
    values,
    // Shared with the base series (not copied): treat both as read-only.
    time: base.time,
    firstValidRow: 0,
    normalization: specs.map((s) => s.normalization),
    normalized: false,
    symbol: base.symbol,
    timeframe: baseTf,
    ...(base.synthetic ? { synthetic: true } : {}),
  }
  if (options.normalization) {
    applyNormalization(matrix, options.normalization)
    matrix.normalized = true
  }
  matrix.firstValidRow = findFirstValidRow(matrix)
  return matrix
}

/** First row whose every cell is finite (rows rows when none). Later rows may still hold NaN
 * if an indicator produces one mid-series (e.g. ROC over a zero price): mask per row if needed. */
export function findFirstValidRow(m: FeatureMatrix): number {
  const { values, rows, cols } = m
  outer: for (let r = 0, o = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, o++) {
      const v = values[o]
      if (v !== v || v === Infinity || v === -Infinity) {
        o += cols - c
        continue outer
      }
    }
    return r
  }
  return rows
}

function missingTimeframe(strategy: ResolvedStrategy, tf: string): KtrdrError {
  return new KtrdrError({
    code: 'FEATURES_MISSING_TIMEFRAME',
    message: `Strategy ${strategy.name} needs ${tf} bars: pass a series for every timeframe in [${strategy.training_data.timeframes.join(', ')}]`,
  })
}
