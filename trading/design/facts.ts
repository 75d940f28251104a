/**
 * The facts an assessment must respect, computed from the training and backtest results (never by
 * the model): how far test accuracy fell from training, the edge over always-the-majority-class,
 * trade count, drawdown, Sharpe, the return beside buy-and-hold and beside random entries with the
 * same trades (the backtest's own baselines). From them, the verdicts the evidence allows: the
 * model chooses among those only (its grammar's enum), so it cannot call a 3-trade backtest a
 * strong signal.
 */
export const VERDICTS = ['strong_signal', 'weak_signal', 'no_signal', 'overfit'] as const
export type Verdict = (typeof VERDICTS)[number]

export interface AssessmentFacts {
  train_accuracy: number | null
  val_accuracy: number | null
  test_accuracy: number | null
  majority_baseline: number | null
  /** test accuracy − always-the-majority-class accuracy: ≤ 0 means no skill beyond the class shares. */
  edge_over_majority: number | null
  /** train accuracy − test accuracy. */
  train_test_gap: number | null
  trades: number | null
  win_rate: number | null
  sharpe_ratio: number | null
  max_drawdown_pct: number | null
  total_return_pct: number | null
  buy_and_hold_return_pct: number | null
  /** The strategy's return − buy-and-hold's, in percentage points. */
  excess_over_buy_and_hold_pct: number | null
  /** Share of random-entry draws the strategy beats, 0–100, and the one-sided p-value. */
  random_entry_percentile: number | null
  random_entry_p_value: number | null
  gates: Record<string, { passed: boolean; bypassed: boolean; reasons: string[] } | null>
  /** Verdicts the evidence allows, and why each other one is ruled out. */
  allowed_verdicts: Verdict[]
  ruled_out: Partial<Record<Verdict, string>>
}

/** Thresholds of the grounding rules (docs/decisions.md, "Grounded assessments"). */
export const FACT_RULES = {
  /** A train/test accuracy gap above this is overfitting. */
  overfitGap: 0.15,
  /** Fewest trades for a strong signal, and for any signal. */
  strongMinTrades: 20,
  weakMinTrades: 5,
  /** Random-entry p-value a strong signal needs, and a weak one. */
  strongMaxP: 0.05,
  weakMaxP: 0.25,
} as const

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {})
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const r4 = (v: number | null) => (v === null ? null : Math.round(v * 1e4) / 1e4)

export function assessmentFacts(training: unknown, backtest: unknown, gates: AssessmentFacts['gates'] = {}): AssessmentFacts {
  const tm = obj(obj(training).training_metrics)
  const test = obj(obj(training).test_metrics)
  const bt = obj(backtest)
  const metrics = obj(bt.metrics)
  const baselines = obj(bt.baselines)
  const random = obj(baselines.random_entries)
  const train = num(tm.final_train_accuracy)
  const testAcc = num(test.test_accuracy)
  const majority = num(test.majority_baseline)
  const ret = num(metrics.total_return_pct)
  const bh = num(obj(baselines.buy_and_hold).return_pct)
  const trades = num(metrics.total_trades) ?? num(bt.trade_count)
  const p = num(random.p_value)
  const sharpe = num(metrics.sharpe_ratio)
  const gap = train !== null && testAcc !== null ? train - testAcc : null
  const edge = num(test.edge_over_majority) ?? (testAcc !== null && majority !== null ? testAcc - majority : null)

  const ruled: AssessmentFacts['ruled_out'] = {}
  const hasBacktest = Object.keys(bt).length > 0
  if (!hasBacktest) {
    ruled.strong_signal = 'there is no backtest'
    ruled.weak_signal = 'there is no backtest'
  } else {
    if ((trades ?? 0) < FACT_RULES.strongMinTrades) ruled.strong_signal = `${trades ?? 0} trades < ${FACT_RULES.strongMinTrades}`
    else if (p === null || p > FACT_RULES.strongMaxP) ruled.strong_signal = `random-entry p = ${p ?? 'n/a'} > ${FACT_RULES.strongMaxP}`
    else if (ret !== null && bh !== null && ret <= bh) ruled.strong_signal = `return ${ret}% ≤ buy-and-hold ${bh}%`
    else if ((sharpe ?? 0) <= 0) ruled.strong_signal = `Sharpe ${sharpe ?? 'n/a'} ≤ 0`
    if ((trades ?? 0) < FACT_RULES.weakMinTrades) ruled.weak_signal = `${trades ?? 0} trades < ${FACT_RULES.weakMinTrades}`
    else if ((p === null || p > FACT_RULES.weakMaxP) && (edge === null || edge <= 0))
      ruled.weak_signal = `random-entry p = ${p ?? 'n/a'} > ${FACT_RULES.weakMaxP} and no edge over the majority class`
  }
  if (gap === null || gap <= FACT_RULES.overfitGap)
    ruled.overfit = gap === null ? 'no train/test accuracies' : `train/test gap ${r4(gap)} ≤ ${FACT_RULES.overfitGap}`
  else ruled.strong_signal ??= `train/test gap ${r4(gap)} > ${FACT_RULES.overfitGap}`
  const allowed = VERDICTS.filter((v) => !ruled[v])

  return {
    train_accuracy: r4(train),
    val_accuracy: r4(num(tm.final_val_accuracy)),
    test_accuracy: r4(testAcc),
    majority_baseline: r4(majority),
    edge_over_majority: r4(edge),
    train_test_gap: r4(gap),
    trades,
    win_rate: r4(num(metrics.win_rate)),
    sharpe_ratio: r4(sharpe),
    max_drawdown_pct: r4(num(metrics.max_drawdown_pct)),
    total_return_pct: r4(ret),
    buy_and_hold_return_pct: r4(bh),
    excess_over_buy_and_hold_pct: ret !== null && bh !== null ? r4(ret - bh) : null,
    random_entry_percentile: r4(num(random.percentile)),
    random_entry_p_value: r4(p),
    gates,
    allowed_verdicts: allowed,
    ruled_out: ruled,
  }
}
