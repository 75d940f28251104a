// Shared shapes of the trading core. Data, indicators, features, labels, the model layer and the
// three functions all read them: fields may be added, never narrowed.

export const TIMEFRAMES = ['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w'] as const
export type Timeframe = (typeof TIMEFRAMES)[number]
export const TIMEFRAME_MINUTES: Record<Timeframe, number> = {
  '1m': 1,
  '5m': 5,
  '15m': 15,
  '30m': 30,
  '1h': 60,
  '4h': 240,
  '1d': 1440,
  '1w': 10080,
}

/** Columnar bars; `time` is the bar's OPEN time in epoch milliseconds UTC. */
export interface OhlcvSeries {
  symbol: string
  timeframe: string
  length: number
  time: Float64Array
  open: Float64Array
  high: Float64Array
  low: Float64Array
  close: Float64Array
  volume: Float64Array
  /** True when the series came from the synthetic generator; shown wherever the data is shown. */
  synthetic?: boolean
}

export type IndicatorParamSpec = (
  | { kind: 'int'; default: number; min?: number; max?: number }
  | { kind: 'float'; default: number; min?: number; max?: number; exclusiveMin?: boolean }
  | { kind: 'bool'; default: boolean }
  | { kind: 'enum'; default: string; values: readonly string[] }
  | { kind: 'source'; default: 'close' }
) & {
  /** Other spellings strategies use for this param (MACD's `fast` for `fast_period`); they resolve to it. */
  aliases?: readonly string[]
}

export interface IndicatorDefinition {
  /** Registry key, e.g. `rsi`, `bollingerbands`. */
  type: string
  /** What it is, in a few words (`ktrdr indicators`, docs/strategy-grammar.md). */
  title?: string
  aliases: readonly string[]
  params: Record<string, IndicatorParamSpec>
  /** Declared outputs; the first is primary. Single-output indicators have exactly one, named like the type. */
  outputs(params: Record<string, unknown>): string[]
  multiOutput: boolean
  /** Fewest bars the indicator accepts (it throws below that). */
  minBars(params: Record<string, unknown>): number
  /** Index of the first bar whose primary output is not NaN. */
  warmup(params: Record<string, unknown>): number
  /** Batch kernel: O(n), no allocation in the bar loop beyond the output arrays. */
  compute(bars: OhlcvSeries, params: Record<string, unknown>): Record<string, Float64Array>
}

/** Row-major feature matrix on the base timeframe, columns in canonical `resolved_features` order. */
export interface FeatureMatrix {
  names: string[]
  rows: number
  cols: number
  /** rows × cols, NaN where an input is still warming up. */
  values: Float32Array
  /** Base-timeframe bar open times (epoch ms), length = rows. */
  time: Float64Array
  /** First row where every feature is finite. */
  firstValidRow: number
}

export type LabelKind = 'classification' | 'regression'

export interface LabelSet {
  kind: LabelKind
  /** Class index (0 BUY, 1 HOLD, 2 SELL) or the regression target; NaN/-1 where no label exists. */
  values: Float64Array
  /** Number of leading rows that carry a label (tail without labels is dropped per docs/domain.md#feature-label-alignment). */
  length: number
  /** Optional per-sample weights (triple-barrier uniqueness). */
  weights?: Float64Array
  numClasses: number
  /**
   * Per bar, the last bar its label reads (t + horizon for a forward return, the barrier hit for
   * triple barrier, the bar that fixes the leg for zigzag); ≥ values.length where the data ends
   * before the label is settled. Training purges a label whose `resolvedAt` reaches the next split.
   */
  resolvedAt: Int32Array
}
