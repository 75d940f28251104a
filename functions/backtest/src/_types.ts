// Shapes shared by the backtest engine files. User-facing config (BacktestParameters) and the
// resolved form the kernel reads (ResolvedEngineConfig) are kept apart: defaults live in config.ts.

export type OutputFormat = 'classification' | 'regression'

/** Raw signal codes, in the model's class order (docs/domain.md#decision-logic): 0 BUY, 1 HOLD, 2 SELL. */
export const BUY = 0
export const HOLD = 1
export const SELL = 2

/** Position codes stored in the equity curve. */
export const FLAT = 0
export const LONG = 1
export const SHORT = -1

/** Everything a parameter set may override; all optional. */
export interface BacktestParameters {
  initial_capital?: number
  commission?: number
  slippage?: number
  confidence_threshold?: number
  position_awareness?: boolean
  allow_short_from_flat?: boolean
  /** Hours since the last executed trade before another signal may pass. */
  min_signal_separation?: number
  round_trip_cost?: number
  min_edge_multiplier?: number
  /** Fraction of cash committed per entry (docs/domain.md#position-manager: 0.25). */
  position_size_fraction?: number
}

export interface ResolvedEngineConfig {
  outputFormat: OutputFormat
  initialCapital: number
  commission: number
  slippage: number
  confidenceThreshold: number
  positionAwareness: boolean
  allowShortFromFlat: boolean
  minSignalSeparationHours: number
  roundTripCost: number
  minEdgeMultiplier: number
  positionSizeFraction: number
}

/**
 * Per-bar model verdicts before any filter: the raw signal and its confidence. NaN or
 * failed predictions are already HOLD with confidence 0 here.
 */
export interface RawSignals {
  signal: Int8Array
  confidence: Float64Array
  /** Softmax probabilities per bar (classification only), for trade metadata. */
  probabilities?: Float32Array
  /** Predicted return per bar (regression only). */
  predicted?: Float64Array
}

/** The bars the engine reads; `time` is each bar's OPEN time (epoch ms UTC). */
export interface EngineBars {
  length: number
  time: Float64Array
  open: Float64Array
  close: Float64Array
}

export interface EngineWindow {
  /** First bar the loop visits (decisions and equity points start here). */
  start: number
  /** Last bar the loop visits (inclusive); open positions are closed at its close. */
  end: number
  /** Duration of one bar in ms: the forced close happens at the last bar's close time. */
  barMs: number
}

export interface EngineHooks {
  signal?: AbortSignal
  /** Called between chunks (at least every 1% of the window) with the bar just finished. */
  onProgress?(barIndex: number, done: number, total: number, state: { equity: number; trades: number }): void
  /** Bars per chunk upper bound; cancellation is checked between chunks. Default 10,000. */
  chunkBars?: number
}
