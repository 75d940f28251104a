import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import {
  alignByClose,
  applyNormalization,
  buildFeatureMatrix,
  createSeries,
  fitNormalization,
  mulberry32,
  resolveStrategy,
  triangular,
  type OhlcvSeries,
} from './_exports.ts'
import { randomWalk, seriesFromCloses } from './_helpers.ts'

const EX = join(import.meta.dirname, '../../examples/strategies')
const H = 3_600_000

/** A small strategy over SMA(2) so every value can be checked by hand. */
function smaStrategy(timeframes: string[], base: string) {
  return resolveStrategy(
    stringify({
      name: 'sma_test',
      training_data: {
        symbols: { mode: 'single', symbol: 'T' },
        timeframes:
          timeframes.length === 1
            ? { mode: 'single', timeframe: timeframes[0] }
            : { mode: 'multi_timeframe', list: timeframes, base_timeframe: base },
      },
      indicators: { sma_2: { type: 'sma', period: 2 } },
      fuzzy_sets: { level: { indicator: 'sma_2', low: [0, 10, 20], high: [10, 20, 30] } },
      nn_inputs: [
        { fuzzy_set: 'level', timeframes: 'all' },
        { raw_indicator: 'sma_2', timeframes: 'all', normalization: 'minmax' },
      ],
      model: { type: 'mlp', architecture: { hidden_layers: [4] } },
      decisions: { output_format: 'classification' },
      training: { labels: { source: 'zigzag' } },
    }),
  )
}

describe('buildFeatureMatrix', () => {
  it('computes fuzzy and raw columns by hand on one timeframe', () => {
    const st = smaStrategy(['1h'], '1h')
    const closes = [10, 14, 18, 22, 26]
    const m = buildFeatureMatrix(st, { '1h': seriesFromCloses(closes) })
    expect(m.names).toEqual(['1h_level_low', '1h_level_high', '1h_sma_2_raw'])
    expect(m.rows).toBe(5)
    expect(m.firstValidRow).toBe(1)
    const sma = [Number.NaN, 12, 16, 20, 24]
    for (let r = 0; r < 5; r++) {
      const row = Array.from(m.values.subarray(r * 3, r * 3 + 3))
      if (r === 0) expect(row.every(Number.isNaN)).toBe(true)
      else expect(row).toEqual([triangular(sma[r], 0, 10, 20), triangular(sma[r], 10, 20, 30), sma[r]].map(Math.fround))
    }
    expect(m.normalization).toEqual(['none', 'none', 'minmax'])
  })

  it('aligns a higher timeframe by bar CLOSE: a 4h bar shows from the 1h bar that closes with it', () => {
    const st = smaStrategy(['1h', '4h'], '1h')
    const h1 = seriesFromCloses(
      Array.from({ length: 16 }, (_, i) => i),
      { start: 0, stepMs: H },
    )
    const h4 = seriesFromCloses([10, 20, 30, 40], { start: 0, stepMs: 4 * H, timeframe: '4h' })
    const m = buildFeatureMatrix(st, { '1h': h1, '4h': h4 })
    const col = m.names.indexOf('4h_sma_2_raw')
    const got = Array.from({ length: 16 }, (_, r) => m.values[r * m.cols + col])
    // 4h bars open 0,4,8,12h and close 4,8,12,16h; SMA(2) = [NaN, 15, 25, 35].
    // 1h bar r closes at r+1 h, so the 4h bar k shows from row 4k+3.
    const want = [NaN, NaN, NaN, NaN, NaN, NaN, NaN, 15, 15, 15, 15, 25, 25, 25, 25, 35]
    expect(got).toEqual(want)
  })

  it('aligns a lower timeframe onto the base by close too', () => {
    const idx = alignByClose(
      Float64Array.from([0, H, 2 * H]),
      H,
      Float64Array.from(Array.from({ length: 30 }, (_, i) => i * 5 * 60_000)),
      5 * 60_000,
    )
    // The 1h bar opened at 0 closes at 1h: the last 5m bar closed by then opened at 55m (index 11).
    expect(Array.from(idx)).toEqual([11, 23, 29])
  })

  it('perturbing future bars never changes past features (lower and higher timeframes)', () => {
    const yaml = readFileSync(join(EX, 'squad_cycle1_control.yaml'), 'utf8').replace('list: ["5m", "1h"]', 'list: ["5m", "1h", "4h"]')
    const st = resolveStrategy(yaml)
    expect(st.training_data.timeframes).toEqual(['1h', '5m', '4h'])
    const series = (b5: OhlcvSeries) => ({ '5m': b5, '1h': resample(b5, 12, '1h'), '4h': resample(b5, 48, '4h') })
    const base5 = randomWalk(12 * 240, 11, { stepMs: 5 * 60_000, timeframe: '5m' })
    const before = buildFeatureMatrix(st, series(base5))
    fc.assert(
      fc.property(fc.integer({ min: 150, max: 225 }), fc.integer({ min: 1, max: 1000 }), (row, seed) => {
        // Everything that closes after base (1h) row `row` closes is rewritten.
        const cut = before.time[row] + H
        const after = buildFeatureMatrix(st, series(perturbAfter(base5, cut, 5 * 60_000, seed)))
        const n = (row + 1) * after.cols
        expect(Array.from(after.values.subarray(0, n))).toEqual(Array.from(before.values.subarray(0, n)))
        // The perturbation is visible later, so the test does test something.
        expect(Array.from(after.values.subarray(n))).not.toEqual(Array.from(before.values.subarray(n)))
      }),
      { numRuns: 15 },
    )
  })

  it('says when a series is too short for an indicator', () => {
    const st = resolveStrategy(readFileSync(join(EX, 'v3_multi_indicator.yaml'), 'utf8'))
    expect(() => buildFeatureMatrix(st, { '1h': randomWalk(10) })).toThrow(
      expect.objectContaining({
        statusCode: 422,
        code: 'DATA_INSUFFICIENT',
        message: expect.stringMatching(/needs at least \d+ bars, got 10/),
      }),
    )
  })

  it('needs a series for every timeframe', () => {
    const st = smaStrategy(['1h', '4h'], '1h')
    expect(() => buildFeatureMatrix(st, { '1h': randomWalk(50) })).toThrow(/needs 4h bars/)
  })
})

describe('normalization', () => {
  const st = smaStrategy(['1h'], '1h')
  const bars = randomWalk(200, 5, { vol: 0.05 })

  it('fits on the training rows only and round-trips through JSON', () => {
    const m = buildFeatureMatrix(st, { '1h': bars })
    const p = fitNormalization(m, 100)
    const col = m.names.indexOf('1h_sma_2_raw')
    const train = Array.from({ length: 100 }, (_, r) => m.values[r * m.cols + col]).filter((v) => !Number.isNaN(v))
    expect(p.features['1h_sma_2_raw']).toEqual({ method: 'minmax', min: Math.min(...train), max: Math.max(...train) })
    // Later rows do not influence the fit.
    const changed = bars.close.slice()
    changed.fill(1000, 150)
    const m2 = buildFeatureMatrix(st, { '1h': { ...bars, close: changed } })
    expect(fitNormalization(m2, 100)).toEqual(p)
    const restored = structuredClone(p)
    applyNormalization(m, restored)
    const scaled = Array.from({ length: 100 }, (_, r) => m.values[r * m.cols + col]).filter((v) => !Number.isNaN(v))
    expect(Math.min(...scaled)).toBe(0)
    expect(Math.max(...scaled)).toBe(1)
  })

  it('z-score uses the sample std; inference (build with params) equals training (build, fit, apply)', () => {
    const z = resolveStrategy(readFileSync(join(EX, 'squad_cycle1_control.yaml'), 'utf8'))
    const b5 = randomWalk(12 * 200, 2, { stepMs: 5 * 60_000, timeframe: '5m' })
    const series = { '5m': b5, '1h': resample(b5, 12, '1h') }
    const trainM = buildFeatureMatrix(z, series)
    const p = fitNormalization(trainM, 140)
    const col = trainM.names.indexOf('1h_roc_10_raw')
    const xs = Array.from({ length: 140 }, (_, r) => trainM.values[r * trainM.cols + col]).filter((v) => !Number.isNaN(v))
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1))
    const f = p.features['1h_roc_10_raw'] as { mean: number; std: number }
    expect(f.mean).toBeCloseTo(mean, 9)
    expect(f.std).toBeCloseTo(std, 9)
    expect(Object.keys(p.features)).toHaveLength(8)
    applyNormalization(trainM, p)
    const inference = buildFeatureMatrix(z, series, { normalization: p })
    expect(inference.normalized).toBe(true)
    expect(Array.from(inference.values)).toEqual(Array.from(trainM.values))
  })
})

/** Aggregates `k` consecutive bars into one (open first, close last, max/min, summed volume). */
function resample(s: OhlcvSeries, k: number, timeframe: string): OhlcvSeries {
  const n = Math.floor(s.length / k)
  const out = createSeries(s.symbol, timeframe, n)
  for (let i = 0; i < n; i++) {
    const a = i * k,
      b = a + k - 1
    out.time[i] = s.time[a]
    out.open[i] = s.open[a]
    out.close[i] = s.close[b]
    let h = -Infinity,
      l = Infinity,
      v = 0
    for (let j = a; j <= b; j++) {
      h = Math.max(h, s.high[j])
      l = Math.min(l, s.low[j])
      v += s.volume[j]
    }
    out.high[i] = h
    out.low[i] = l
    out.volume[i] = v
  }
  return out
}

/** Copy with every bar that closes after `cut` rewritten by a seeded random walk. */
function perturbAfter(s: OhlcvSeries, cut: number, ms: number, seed: number): OhlcvSeries {
  const out = { ...s, open: s.open.slice(), high: s.high.slice(), low: s.low.slice(), close: s.close.slice(), volume: s.volume.slice() }
  const rnd = mulberry32(seed)
  for (let i = 0; i < s.length; i++) {
    if (s.time[i] + ms <= cut) continue
    const c = out.close[i - 1] * (1 + (rnd() - 0.5) * 0.05)
    out.open[i] = out.close[i - 1]
    out.close[i] = c
    out.high[i] = Math.max(out.open[i], c) * 1.002
    out.low[i] = Math.min(out.open[i], c) * 0.998
  }
  return out
}
