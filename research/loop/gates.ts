import type { GateOptions } from './options.ts'
import type { GateOutcome } from './_types.ts'

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {})
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const fmt = (v: number | null) => (v === null ? 'n/a' : String(Math.round(v * 1e4) / 1e4))

/**
 * Is a trained model worth a backtest? Classification: test accuracy, test loss and the train loss
 * not blowing up (first → last epoch); regression: directional accuracy and loss. Pure: thresholds
 * from resolveResearchOptions (environment-overridable).
 */
export function trainingGate(result: unknown, options: GateOptions['training'], bypass: boolean): GateOutcome {
  const r = obj(result)
  const test = obj(r.test_metrics)
  const history = obj(obj(r.training_metrics).history)
  const reasons: string[] = []
  const losses = Array.isArray(history.train_loss) ? (history.train_loss as unknown[]).map(num).filter((v): v is number => v !== null) : []
  const decrease = losses.length >= 2 && losses[0] > 0 ? (losses[0] - losses.at(-1)!) / losses[0] : null
  const regression = num(test.directional_accuracy) !== null && num(test.test_accuracy) === null
  const loss = num(test.test_loss)
  if (regression) {
    const da = num(test.directional_accuracy)
    if (da === null || da <= options.minDirectionalAccuracy)
      reasons.push(`directional accuracy ${fmt(da)} ≤ ${options.minDirectionalAccuracy}`)
  } else {
    const acc = num(test.test_accuracy)
    if (acc === null || acc < options.minTestAccuracy) reasons.push(`test accuracy ${fmt(acc)} < ${options.minTestAccuracy}`)
  }
  if (loss === null || loss > options.maxTestLoss) reasons.push(`test loss ${fmt(loss)} > ${options.maxTestLoss}`)
  if (decrease !== null && decrease < options.minLossDecrease)
    reasons.push(`train loss decrease ${fmt(decrease)} < ${options.minLossDecrease} (it grew)`)
  return { passed: bypass || reasons.length === 0, bypassed: bypass && reasons.length > 0, reasons }
}

/** Is a backtest worth an optimistic reading? Win rate, drawdown, Sharpe (and, for regression, return and trades). */
export function backtestGate(result: unknown, options: GateOptions['backtest'], regression: boolean, bypass: boolean): GateOutcome {
  const m = obj(obj(result).metrics)
  const reasons: string[] = []
  const drawdown = num(m.max_drawdown_pct)
  if (drawdown === null || drawdown > options.maxDrawdownPct) reasons.push(`max drawdown ${fmt(drawdown)}% > ${options.maxDrawdownPct}%`)
  if (regression) {
    const ret = num(m.total_return_pct)
    const trades = num(m.total_trades)
    if (ret === null || ret < options.minReturnPct) reasons.push(`return ${fmt(ret)}% < ${options.minReturnPct}%`)
    if (trades === null || trades < options.minTrades) reasons.push(`${fmt(trades)} trades < ${options.minTrades}`)
  } else {
    const win = num(m.win_rate)
    const sharpe = num(m.sharpe_ratio)
    if (win === null || win < options.minWinRate) reasons.push(`win rate ${fmt(win)} < ${options.minWinRate}`)
    if (sharpe === null || sharpe < options.minSharpe) reasons.push(`Sharpe ${fmt(sharpe)} < ${options.minSharpe}`)
  }
  return { passed: bypass || reasons.length === 0, bypassed: bypass && reasons.length > 0, reasons }
}
