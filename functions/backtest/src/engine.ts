import type { EngineBars, EngineHooks, EngineWindow, RawSignals, ResolvedEngineConfig } from './_types.ts'
import { KtrdrError } from '../../../trading/index.ts'
import { runKernel, type EquityBuffers } from './kernel.ts'
import { computeMetrics, type Annualization, type PerformanceMetrics } from './metrics.ts'
import { closePosition, EngineState } from './position.ts'
import { summarizeDecisions, type DecisionSummary } from './explain.ts'
import { TradeBuffer } from './trades.ts'

/** Buffers a run writes into; reuse one across the runs of a sweep to avoid reallocating. */
export interface EngineWorkspace {
  state: EngineState
  trades: TradeBuffer
  out: EquityBuffers
}

export function createEngineWorkspace(points = 0): EngineWorkspace {
  return { state: new EngineState(), trades: new TradeBuffer(), out: { equity: new Float64Array(points), position: new Int8Array(points) } }
}

export interface EngineResult {
  config: ResolvedEngineConfig
  window: EngineWindow
  /** Views into the workspace: copy before the workspace runs again. */
  trades: TradeBuffer
  equity: Float64Array
  position: Int8Array
  metrics: PerformanceMetrics
  annualization: Annualization
  finalEquity: number
  decisions: DecisionSummary
}

function cancelled(): KtrdrError {
  return new KtrdrError({ code: 'CANCELLED', message: 'Backtest cancelled' })
}

/**
 * One backtest over `window` of `bars`, given the per-bar raw model signals. Runs the kernel
 * in chunks (≤ 10,000 bars and ≤ 1% of the window) so that cancellation and progress are
 * checked often, force-closes at the last close and computes the metrics.
 */
export function runBacktest(
  bars: EngineBars,
  signals: RawSignals,
  cfg: ResolvedEngineConfig,
  window: EngineWindow,
  hooks: EngineHooks = {},
  ws?: EngineWorkspace,
): EngineResult {
  const { start, end } = window
  if (!(start >= 0 && end < bars.length && start <= end)) {
    throw new KtrdrError({
      code: 'BACKTEST_WINDOW_EMPTY',
      message: `No bars to backtest: window [${start}, ${end}] of ${bars.length} bars (check start_date/end_date and the warm-up)`,
    })
  }
  const points = end - start + 1
  const work = ws ?? createEngineWorkspace(points)
  if (work.out.equity.length < points) work.out = { equity: new Float64Array(points), position: new Int8Array(points) }
  const s = work.state
  const trades = work.trades
  s.reset(cfg.initialCapital)
  trades.reset()

  const chunk = Math.max(1, Math.min(hooks.chunkBars ?? 10_000, Math.ceil(points / 100)))
  for (let from = start; from <= end; from += chunk) {
    if (hooks.signal?.aborted) throw cancelled()
    const to = Math.min(end + 1, from + chunk)
    runKernel(bars, signals, cfg, s, trades, work.out, start, end, from, to)
    hooks.onProgress?.(to - 1, to - start, points, { equity: work.out.equity[to - 1 - start], trades: trades.count })
  }

  // docs/domain.md#bar-loop: close what is still open at the last close, at the bar's close time; the
  // last equity point then shows the cash after exit costs (= initial + Σ net P&L).
  const closeTime = bars.time[end] + window.barMs
  if (closePosition(s, cfg, trades, bars.close[end], end, closeTime, true)) {
    work.out.equity[points - 1] = s.cash
    work.out.position[points - 1] = 0
  }

  const equity = work.out.equity.subarray(0, points)
  const { metrics, annualization } = computeMetrics({
    equity,
    points,
    initialCapital: cfg.initialCapital,
    trades,
    firstTime: bars.time[start],
    lastTime: closeTime,
    barMs: window.barMs,
  })
  const position = work.out.position.subarray(0, points)
  const decisions = summarizeDecisions(signals, cfg, window, s, position, trades.count)
  return { config: cfg, window, trades, equity, position, metrics, annualization, finalEquity: equity[points - 1], decisions }
}
