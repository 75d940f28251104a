import { describe, expect, it } from 'vitest'
import {
  alignFeaturesAndLabels,
  buildFeatureMatrix,
  buildLabels,
  createSeries,
  forwardReturnLabels,
  purgedSplit,
  resolveStrategy,
  stackAligned,
  tripleBarrierLabels,
  uniquenessWeights,
  zigzagLabels,
  zigzagPivots,
  chronologicalSplit,
  contextLabels,
  cusumEvents,
} from './_exports.ts'
import { ewmStdAdjusted } from '../labels/_ewm.ts'
import { randomWalk, seriesFromCloses } from './_helpers.ts'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const EX = join(import.meta.dirname, '../../examples/strategies')

describe('zigzag (docs/domain.md#zigzag-labels)', () => {
  it('labels segments between pivots, pivots and the tail HOLD', () => {
    const close = Float64Array.from([100, 103, 101, 99, 102, 106, 104])
    expect(Array.from(zigzagPivots(close, 0.025))).toEqual([0, 1, 3, 5])
    const l = zigzagLabels(close, 0.025)
    expect(Array.from(l.values)).toEqual([1, 1, 2, 1, 0, 1, 1])
    expect(l.length).toBe(7)
    expect(l.numClasses).toBe(3)
  })

  it('a flat market is all HOLD', () => {
    expect(Array.from(zigzagLabels(new Float64Array(5).fill(1), 0.01).values)).toEqual([1, 1, 1, 1, 1])
  })
})

function tbSeries(closes: number[]) {
  const s = createSeries('T', '1h', closes.length)
  closes.forEach((c, i) => {
    s.time[i] = i * 3_600_000
    s.open[i] = c
    s.close[i] = c
    s.high[i] = c * 1.01
    s.low[i] = c * 0.99
    s.volume[i] = 1
  })
  return s
}

describe('triple barrier (docs/domain.md#triple-barrier-labels)', () => {
  it('labels barrier hits and time-outs on a hand-checked path', () => {
    // (H−L)/C = 0.02 everywhere ⇒ vol = 0.02, upper = C·1.04, lower = C·0.97.
    const s = tbSeries([100, 100, 103.5, 100, 100, 100, 96, 100, 100, 100, 100])
    const l = tripleBarrierLabels(s, { max_holding_period: 3, vol_span: 2 })
    expect(l.length).toBe(8)
    expect(Array.from(l.values.subarray(0, 8))).toEqual([0, 0, 2, 2, 2, 2, 0, 1])
    expect(Array.from(l.holding.subarray(0, 8))).toEqual([2, 1, 1, 3, 2, 1, 1, 3])
    expect(Array.from(l.values.subarray(8)).every(Number.isNaN)).toBe(true)
  })

  it('when both barriers are hit on one bar, the close decides', () => {
    const s = tbSeries([100, 100, 100, 100, 100, 100])
    s.high[1] = 110
    s.low[1] = 90
    s.close[1] = 101
    expect(tripleBarrierLabels(s, { max_holding_period: 2, vol_span: 2 }).values[0]).toBe(0)
    s.close[1] = 99.5
    expect(tripleBarrierLabels(s, { max_holding_period: 2, vol_span: 2 }).values[0]).toBe(2)
  })

  it('log-return volatility: ewm std with the early holes back-filled from index vol_span', () => {
    const bars = randomWalk(300, 8)
    const l = tripleBarrierLabels(bars, { vol_method: 'log_return', vol_span: 20, max_holding_period: 10, cusum_threshold: 0 })
    expect(l.volatility[0]).toBe(l.volatility[20])
    expect(Array.from(l.volatility).every((v) => v > 0)).toBe(true)
    // CUSUM (automatic threshold) keeps some bars and unlabels the rest.
    expect(l.events).toBeGreaterThan(0)
    expect(l.events).toBeLessThan(l.length)
    const labelled = Array.from(l.values.subarray(0, l.length)).filter((v) => !Number.isNaN(v))
    expect(labelled).toHaveLength(l.events)
    expect(labelled.every((v) => v === 0 || v === 1 || v === 2)).toBe(true)
  })

  it('needs max_holding_period + vol_span bars', () => {
    expect(() => tripleBarrierLabels(tbSeries([1, 2, 3]), { max_holding_period: 2, vol_span: 2 })).toThrow(/= 4 bars/)
  })

  it('uniqueness weights follow label concurrency', () => {
    // spans [0,2] and [1,2]: concurrency 1,2,2 ⇒ raw weights 2/3 and 1/2, mean 7/12.
    const w = uniquenessWeights(Float64Array.from([2, 1, Number.NaN]), 2)
    expect(w[0]).toBeCloseTo(8 / 7, 12)
    expect(w[1]).toBeCloseTo(6 / 7, 12)
  })

  it('ewm std matches the closed-form unbiased weighted variance', () => {
    const x = Float64Array.from(randomWalk(60, 4).close)
    const span = 10,
      a = 2 / (span + 1)
    const got = ewmStdAdjusted(x, span)
    for (const t of [1, 5, 30, 59]) {
      let sw = 0,
        sw2 = 0,
        sx = 0
      for (let k = 0; k <= t; k++) {
        const w = (1 - a) ** (t - k)
        sw += w
        sw2 += w * w
        sx += w * x[k]
      }
      const mu = sx / sw
      let ss = 0
      for (let k = 0; k <= t; k++) ss += (1 - a) ** (t - k) * (x[k] - mu) ** 2
      expect(got[t]).toBeCloseTo(Math.sqrt(ss / (sw - sw2 / sw)), 12)
    }
    expect(got[0]).toBeNaN()
  })

  it('CUSUM fires when cumulative log returns pass the threshold', () => {
    const ev = cusumEvents(Float64Array.from([100, 101, 102, 103, 102, 101, 100]), 0.025)
    // up: ln(103/100) = 0.0296 > 0.025 at bar 3; down: ln(100/103) < -0.025 at bar 6.
    expect(Array.from(ev)).toEqual([0, 0, 0, 1, 0, 0, 1])
  })

  it('purged split drops training samples whose window reaches validation, plus the embargo', () => {
    const s = purgedSplit(1000, { train: 0.7, validation: 0.15, test: 0.15 }, 50)
    expect(s.train).toEqual({ start: 0, end: 651 })
    expect(s.validation).toEqual({ start: 700, end: 850 })
    expect(s.test).toEqual({ start: 850, end: 1000 })
    const p = purgedSplit(1000, { train: 0.7, validation: 0.15, test: 0.15 }, 5)
    expect(p.train.end).toBe(690)
    expect(chronologicalSplit(1000, { train: 0.7, validation: 0.15, test: 0.15 })).toEqual({
      train: { start: 0, end: 700 },
      validation: { start: 700, end: 850 },
      test: { start: 850, end: 1000 },
    })
  })
})

describe('forward return (docs/domain.md#forward-return-labels) and context (docs/domain.md#context-labels)', () => {
  it('computes (C[t+h] − C[t]) / C[t] and drops the tail', () => {
    const l = forwardReturnLabels(Float64Array.from([100, 110, 121, 100]), 1)
    expect(l.kind).toBe('regression')
    expect(l.length).toBe(3)
    expect(Array.from(l.values.subarray(0, 3))).toEqual([0.1, 0.1, (100 - 121) / 121])
    expect(l.values[3]).toBeNaN()
  })

  it('rejects zero closes', () => {
    expect(() => forwardReturnLabels(Float64Array.from([0, 1, 2]), 1)).toThrow(/close is 0/)
  })

  it('context classes', () => {
    expect(Array.from(contextLabels(Float64Array.from([100, 101, 100.2, 100]), 1).values.subarray(0, 3))).toEqual([0, 1, 2])
  })
})

describe('feature/label alignment (docs/domain.md#feature-label-alignment)', () => {
  const strategy = resolveStrategy(readFileSync(join(EX, 'trend_tb_signal_v1.yaml'), 'utf8'))

  it('cuts features to the labelled rows', () => {
    const bars = randomWalk(400, 7)
    const m = buildFeatureMatrix(strategy, { '1h': bars })
    const labels = buildLabels(strategy.training.labels, bars)
    const a = alignFeaturesAndLabels(m, labels)
    expect(a.features.rows).toBe(350)
    expect(a.labels.length).toBe(350)
    expect(a.labels.weights!.length).toBe(350)
    expect(a.labelled.length).toBe(350)
    expect(a.usable[0]).toBeGreaterThanOrEqual(m.firstValidRow)
  })

  it("stacks symbols with their own labels (not the first symbol's)", () => {
    const z = resolveStrategy(readFileSync(join(EX, 'v3_multi_indicator.yaml'), 'utf8'))
    const a = randomWalk(300, 1),
      b = randomWalk(200, 99, { vol: 0.03 })
    const sets = [a, b].map((bars) => alignFeaturesAndLabels(buildFeatureMatrix(z, { '1h': bars }), buildLabels(z.training.labels, bars)))
    const stacked = stackAligned(sets)
    expect(stacked.offsets).toEqual([0, 300])
    expect(stacked.features.rows).toBe(500)
    expect(Array.from(stacked.labels.values.subarray(300))).toEqual(Array.from(zigzagLabels(b.close, 0.025).values))
    expect(Array.from(stacked.features.values.subarray(300 * 6))).toEqual(Array.from(sets[1].features.values))
  })

  it('buildLabels follows the strategy', () => {
    const bars = seriesFromCloses(Array.from({ length: 30 }, (_, i) => 100 + i))
    expect(buildLabels({ source: 'forward_return', horizon: 5 }, bars).length).toBe(25)
    expect(buildLabels({ source: 'zigzag', zigzag_threshold: 0.02, label_lookahead: null }, bars).length).toBe(30)
  })
})
