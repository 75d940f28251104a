// The audit's leak test for every label source and both split boundaries: rewrite every bar
// from the first row of the next split on; no label the split keeps may change.
import { describe, expect, it } from 'vitest'
import { randomWalk } from '../../../test/kit/index.ts'
import { buildLabels, createSeries, type BuiltFeatureMatrix, type LabelsConfig, type OhlcvSeries } from '../../../trading/index.ts'
import { prepareTrainingSet } from '../src/dataset.ts'

const N = 1500
const SPLIT = { train: 0.7, validation: 0.15, test: 0.15 }

/** A random walk with enough swing (±0.6 %/bar) for 1–2 % zigzag legs and barrier hits. */
const walk = (seed: number, n = N): OhlcvSeries => randomWalk(n, seed, { vol: 0.012, start: Date.UTC(2021, 0, 1) })

/** The same series with every bar from `from` on replaced: a steady rally or a steady slide. */
function rewrite(bars: OhlcvSeries, from: number, direction: 1 | -1): OhlcvSeries {
  const s = createSeries(bars.symbol, bars.timeframe, bars.length)
  for (const k of ['time', 'open', 'high', 'low', 'close', 'volume'] as const) s[k].set(bars[k])
  let p = bars.close[from - 1]
  for (let i = from; i < bars.length; i++) {
    const o = p
    p *= 1 + direction * 0.004
    s.open[i] = o
    s.close[i] = p
    s.high[i] = Math.max(o, p) * 1.0005
    s.low[i] = Math.min(o, p) * 0.9995
  }
  return s
}

/** One finite, unnormalised feature per bar: every labelled bar is a candidate sample. */
function matrix(n: number): BuiltFeatureMatrix {
  return {
    names: ['x'],
    rows: n,
    cols: 1,
    values: new Float32Array(n).fill(0.5),
    time: new Float64Array(n),
    firstValidRow: 0,
    normalization: ['none'],
    normalized: false,
    symbol: 'LEAK',
    timeframe: '1h',
  }
}

const SOURCES: Array<[string, LabelsConfig]> = [
  ['zigzag', { source: 'zigzag', zigzag_threshold: 0.015, label_lookahead: null }],
  ['forward_return (regression)', { source: 'forward_return', horizon: 20 }],
  ['context', { source: 'context', horizon: 10, bullish_threshold: 0.005, bearish_threshold: -0.005 }],
  [
    'triple_barrier',
    {
      source: 'triple_barrier',
      pt_multiplier: 2,
      sl_multiplier: 1.5,
      max_holding_period: 50,
      vol_span: 20,
      vol_method: 'atr',
      compute_weights: false,
      cusum_threshold: null,
      cusum_multiplier: 0.5,
      embargo_pct: 0,
    },
  ],
  [
    'triple_barrier, automatic CUSUM',
    {
      source: 'triple_barrier',
      pt_multiplier: 2,
      sl_multiplier: 1.5,
      max_holding_period: 50,
      vol_span: 20,
      vol_method: 'log_return',
      compute_weights: false,
      cusum_threshold: 0,
      cusum_multiplier: 0.5,
      embargo_pct: 0,
    },
  ],
]

const same = (a: number, b: number) => a === b || (a !== a && b !== b)

describe('purge at every split boundary', () => {
  for (const [name, cfg] of SOURCES) {
    it(`${name}: no kept training or validation label reads the next split`, () => {
      let changedBeforeBoundary = 0
      let purged = 0
      for (let seed = 1; seed <= 6; seed++) {
        const bars = walk(seed)
        const labels = buildLabels(cfg, bars)
        const prepared = prepareTrainingSet([{ symbol: 'LEAK', matrix: matrix(N), labels }], { split: SPLIT, sequenceLength: 1 })
        const { set } = prepared
        const { boundaries } = prepared.perSymbol[0]
        purged += prepared.purged.train + prepared.purged.validation
        for (const [boundary, kept] of [
          [boundaries.validation, set.train],
          [boundaries.test, set.validation],
        ] as const) {
          expect(kept.length).toBeGreaterThan(0)
          for (const direction of [1, -1] as const) {
            const other = buildLabels(cfg, rewrite(bars, boundary, direction))
            for (const r of kept) {
              expect(r).toBeLessThan(boundary)
              if (!same(other.values[r], labels.values[r]))
                throw new Error(
                  `${name} seed ${seed}: kept label at row ${r} changed (${labels.values[r]} → ${other.values[r]}) when bars from ${boundary} were rewritten`,
                )
            }
            // The rewrite is strong enough to matter: some label before the boundary does change
            // (those are the ones the purge must have removed).
            for (let r = 0; r < boundary; r++) if (!same(other.values[r], labels.values[r])) changedBeforeBoundary++
          }
        }
      }
      expect(changedBeforeBoundary).toBeGreaterThan(0)
      expect(purged).toBeGreaterThan(0)
    })
  }

  it('reports the dropped counts and the rows the normalisation was fitted on', () => {
    const bars = walk(9)
    const labels = buildLabels({ source: 'forward_return', horizon: 20 }, bars)
    const m = matrix(N)
    m.normalization = ['zscore']
    for (let r = 0; r < 4; r++) m.values[r] = Number.NaN // warm-up: the first 4 rows have no features
    const p = prepareTrainingSet([{ symbol: 'LEAK', matrix: m, labels }], { split: SPLIT, sequenceLength: 1 })
    // 1476 candidates (rows 4..1479): train = first 1033, validation next 221.
    expect(p.perSymbol[0].boundaries).toEqual({ validation: 4 + 1033, test: 4 + 1033 + 221 })
    // horizon 20: the last 20 rows before each boundary read across it.
    expect(p.purged).toMatchObject({ train: 20, validation: 20, unsettled: 0 })
    expect(p.set.train.length).toBe(1033 - 20)
    expect(p.normalization.fitted_rows).toEqual({ start: 4, end: 4 + 1033 - 20, count: 1033 - 20 })
  })
})
