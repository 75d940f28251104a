import { describe, expect, it } from 'vitest'
import { zigzagPivots } from '../../../trading/index.ts'
import { checkTrainingLabels, suggestZigzagThreshold } from '../src/label-checks.ts'
import type { TrainingSet } from '../src/loop.ts'
import { classificationMetrics, regressionMetrics } from '../src/metrics.ts'

/** One-hot logits for the given predicted classes. */
const logits = (pred: number[], k = 3) => Float32Array.from(pred.flatMap((p) => Array.from({ length: k }, (_, c) => (c === p ? 5 : 0))))

describe('classification metrics beside their baselines', () => {
  it('a hand-made case: majority, balanced accuracy, macro F1 and the constant predictor', () => {
    // targets: 6 SELL, 3 BUY, 1 HOLD. The model calls SELL everywhere but one BUY right.
    const targets = [2, 2, 2, 2, 2, 2, 0, 0, 0, 1]
    const pred = [2, 2, 2, 2, 2, 2, 0, 2, 2, 2]
    const m = classificationMetrics(logits(pred), targets, 3, 0)
    expect(m.test_accuracy).toBeCloseTo(0.7, 12)
    expect(m.majority_baseline).toBeCloseTo(0.6, 12)
    expect(m.majority_class).toBe('SELL')
    expect(m.edge_over_majority).toBeCloseTo(0.1, 12)
    // recalls: BUY 1/3, HOLD 0, SELL 1 ⇒ mean 4/9.
    expect(m.balanced_accuracy).toBeCloseTo(4 / 9, 12)
    // F1: BUY p=1 r=1/3 ⇒ 0.5; HOLD 0; SELL p=6/9 r=1 ⇒ 0.8. Mean 1.3/3.
    expect(m.macro_f1).toBeCloseTo(1.3 / 3, 12)
    // Always-SELL: accuracy 0.6, balanced 1/3, macro F1 = F1(SELL)/3 = 2·0.6/1.6/3.
    expect(m.baseline).toEqual({ accuracy: 0.6, balanced_accuracy: 1 / 3, macro_f1: expect.closeTo(0.75 / 3, 12) })
    // The baseline is what a constant predictor scores: check it against one.
    const constant = classificationMetrics(logits(targets.map(() => 2)), targets, 3, 0)
    expect(constant.test_accuracy).toBeCloseTo(m.baseline.accuracy, 12)
    expect(constant.balanced_accuracy).toBeCloseTo(m.baseline.balanced_accuracy, 12)
    expect(constant.macro_f1).toBeCloseTo(m.baseline.macro_f1, 12)
    expect(constant.edge_over_majority).toBe(0)
  })
})

describe('regression metrics beside zero-return and last-return predictors', () => {
  it('a hand-made case', () => {
    const targets = [0.01, -0.02, 0.03, 0.01]
    const last = [Number.NaN, 0.01, -0.02, 0.03]
    const m = regressionMetrics(Float32Array.from([0.01, -0.01, 0.02, 0.0]), targets, 0, last)
    expect(m.baselines.zero_return.mae).toBeCloseTo((0.01 + 0.02 + 0.03 + 0.01) / 4, 12)
    expect(m.baselines.zero_return.rmse).toBeCloseTo(Math.sqrt(((1 + 4 + 9 + 1) * 1e-4) / 4), 12)
    // 3 of 4 targets are up: always calling "up" gets 0.75.
    expect(m.baselines.zero_return.directional_accuracy).toBeCloseTo(0.75, 12)
    // last-return predictions 0 (unknown), 0.01, −0.02, 0.03: errors 0.01, 0.03, 0.05, 0.02.
    expect(m.baselines.last_return!.mae).toBeCloseTo(0.11 / 4, 12)
    // signs: 0 vs +, + vs −, − vs +, + vs + ⇒ 1 of 4.
    expect(m.baselines.last_return!.directional_accuracy).toBeCloseTo(0.25, 12)
    expect(m.mae).toBeCloseTo((0 + 0.01 + 0.01 + 0.01) / 4, 6)
  })
})

function set(targets: number[], split: [number, number]): TrainingSet {
  const n = targets.length
  const idx = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i)
  return {
    values: new Float32Array(n),
    cols: 1,
    rows: n,
    targets: Float32Array.from(targets),
    train: idx(0, split[0]),
    validation: idx(split[0], split[1]),
    test: idx(split[1], n),
  }
}

describe('degenerate labels are said, with a suggested label parameter', () => {
  // A smooth oscillation: period 96 bars, ±1 %.
  const close = Float64Array.from({ length: 4800 }, (_, i) => 1.1 * (1 + 0.01 * Math.sin((2 * Math.PI * i) / 96)))

  it('one-class validation split, few legs: warnings naming the split, with a usable zigzag threshold', () => {
    // 4 long legs in 700 training rows (the audit's demo: 8 in 8,400 bars); the validation split is all SELL.
    const targets = Array.from({ length: 1000 }, (_, i) => (i < 700 ? (Math.floor(i / 200) % 2 ? 2 : 0) : 2))
    const w = checkTrainingLabels(
      set(targets, [700, 850]),
      { source: 'zigzag', zigzag_threshold: 0.025, label_lookahead: null },
      3,
      ['BUY', 'HOLD', 'SELL'],
      [close],
    )
    expect(w.map((x) => `${x.code}:${x.split}`)).toEqual(['LABELS_FEW_LEGS:train', 'LABELS_ONE_CLASS:validation', 'LABELS_ONE_CLASS:test'])
    const t = w[0].suggestion!.zigzag_threshold
    expect(w[0].message).toContain(`zigzag_threshold: ${t}`)
    // The suggestion cuts these bars into legs of about 48 bars (the oscillation has 2 per 96).
    const legs = zigzagPivots(close, t).length - 1
    expect(legs).toBeGreaterThan((4800 / 48) * 0.6)
    expect(legs).toBeLessThanOrEqual(4800 / 48 + 1)
  })

  it('a rare class is reported; balanced data is not', () => {
    const balanced = Array.from({ length: 900 }, (_, i) => (Math.floor(i / 10) % 2 ? 2 : 0))
    expect(
      checkTrainingLabels(
        set(balanced, [600, 750]),
        { source: 'zigzag', zigzag_threshold: 0.01, label_lookahead: null },
        3,
        ['BUY', 'HOLD', 'SELL'],
        [close],
      ),
    ).toEqual([])
    const rare = Array.from({ length: 900 }, (_, i) => (i % 100 === 0 ? 0 : i % 2 ? 1 : 2))
    const w = checkTrainingLabels(
      set(rare, [600, 750]),
      { source: 'context', horizon: 5, bullish_threshold: 0.005, bearish_threshold: -0.005 },
      3,
      ['BULLISH', 'BEARISH', 'NEUTRAL'],
      [close],
    )
    expect(w.map((x) => `${x.code}:${x.split}`)).toEqual([
      'LABELS_RARE_CLASS:train',
      'LABELS_RARE_CLASS:validation',
      'LABELS_RARE_CLASS:test',
    ])
    expect(w[0].message).toMatch(/BULLISH \(6\)/)
    expect(w[0].suggestion).toMatchObject({ bullish_threshold: expect.any(Number), bearish_threshold: expect.any(Number) })
  })

  it('suggestZigzagThreshold grows with the volatility', () => {
    const wide = close.map((c) => 1.1 + (c - 1.1) * 3)
    expect(suggestZigzagThreshold(wide)).toBeGreaterThan(suggestZigzagThreshold(close) * 2)
  })
})
