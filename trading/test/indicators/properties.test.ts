// Property tests (fast-check): bounds, warm-up length, finiteness after warm-up, and causality.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { OhlcvSeries } from '../../types.ts'
import { computeIndicator, listIndicators, resolveIndicatorParams } from '../../indicators/registry.ts'
import { emptyBars, spliceFuture } from './_bars.ts'

/** Arbitrary positive OHLCV series: per-bar relative moves, wicks and volumes. */
const barsArb = (minLen: number, maxLen: number): fc.Arbitrary<OhlcvSeries> =>
  fc
    .array(
      fc.record({
        move: fc.double({ min: -0.05, max: 0.05, noNaN: true }),
        up: fc.double({ min: 0, max: 0.02, noNaN: true }),
        down: fc.double({ min: 0, max: 0.02, noNaN: true }),
        vol: fc.integer({ min: 0, max: 10_000 }),
        flat: fc.boolean(),
      }),
      { minLength: minLen, maxLength: maxLen },
    )
    .chain((steps) =>
      fc.double({ min: 0.5, max: 5000, noNaN: true }).map((start) => {
        const s = emptyBars(steps.length)
        let p = start
        steps.forEach((st, i) => {
          const o = p
          // Flat bars (no move, no wicks) exercise the zero-range / zero-change branches.
          p = st.flat ? p : p * (1 + st.move)
          s.open[i] = o
          s.close[i] = p
          s.high[i] = Math.max(o, p) * (1 + (st.flat ? 0 : st.up))
          s.low[i] = Math.min(o, p) * (1 - (st.flat ? 0 : st.down))
          s.volume[i] = st.vol
          s.time[i] = i * 60_000
        })
        return s
      }),
    )

const RUNS = { numRuns: 60 }

const smallParams: Record<string, Record<string, unknown>> = {
  rsi: { period: 5 },
  stochastic: { k_period: 5, d_period: 3, smooth_k: 2 },
  williamsr: { period: 5 },
  mfi: { period: 5 },
  aroon: { period: 5 },
}

describe('bounded oscillators stay in range', () => {
  const inRange = (a: Float64Array, lo: number, hi: number) =>
    Array.from(a).every((v) => Number.isNaN(v) || (v >= lo - 1e-9 && v <= hi + 1e-9))
  it('rsi, stochastic %K/%D, mfi, aroon up/down in [0, 100]; williamsr in [−100, 0]; aroon oscillator in [−100, 100]', () => {
    fc.assert(
      fc.property(barsArb(12, 80), (bars) => {
        expect(inRange(computeIndicator('rsi', smallParams.rsi, bars).rsi, 0, 100)).toBe(true)
        const st = computeIndicator('stochastic', smallParams.stochastic, bars)
        expect(inRange(st.k, 0, 100) && inRange(st.d, 0, 100)).toBe(true)
        expect(inRange(computeIndicator('mfi', smallParams.mfi, bars).mfi, 0, 100)).toBe(true)
        const ar = computeIndicator('aroon', smallParams.aroon, bars)
        expect(inRange(ar.up, 0, 100) && inRange(ar.down, 0, 100) && inRange(ar.oscillator, -100, 100)).toBe(true)
        expect(inRange(computeIndicator('williamsr', smallParams.williamsr, bars).williamsr, -100, 0)).toBe(true)
      }),
      RUNS,
    )
  })
  it('squeeze intensity in [0, 1], fisher input clip keeps |fisher| ≤ atanh(0.999)', () => {
    fc.assert(
      fc.property(barsArb(30, 80), (bars) => {
        expect(inRange(computeIndicator('squeezeintensity', {}, bars).squeezeintensity, 0, 1)).toBe(true)
        expect(inRange(computeIndicator('fishertransform', {}, bars).fisher, -Math.atanh(0.999), Math.atanh(0.999))).toBe(true)
      }),
      RUNS,
    )
  })
})

// Small params keep the series short; every catalogue type appears here.
const PARAMS: Record<string, Record<string, unknown>> = {
  ...smallParams,
  sma: { period: 4 },
  ema: { period: 4 },
  wma: { period: 4 },
  macd: { fast_period: 3, slow_period: 6, signal_period: 3 },
  bollingerbands: { period: 5 },
  bollingerbandwidth: { period: 5 },
  atr: { period: 4 },
  adx: { period: 4 },
  roc: { period: 3 },
  momentum: { period: 3 },
  cci: { period: 5 },
  obv: {},
  vwap: { period: 5 },
  cmf: { period: 5 },
  adline: { use_sma_smoothing: true, smoothing_period: 4 },
  fishertransform: { period: 5, smoothing: 2 },
  rvi: { period: 4, signal_period: 2 },
  keltnerchannels: { period: 5, atr_period: 3 },
  donchianchannels: { period: 5 },
  supertrend: { period: 4 },
  parabolicsar: {},
  ichimoku: { tenkan_period: 3, kijun_period: 5, senkou_b_period: 8, displacement: 4 },
  volumeratio: { period: 4 },
  distancefromma: { period: 4 },
  squeezeintensity: { bb_period: 5, kc_period: 5 },
  zigzag: { threshold: 0.02 },
}

describe('warm-up and finiteness', () => {
  it('covers every catalogue type', () => {
    expect(Object.keys(PARAMS).sort()).toEqual(
      listIndicators()
        .map((d) => d.type)
        .sort(),
    )
  })
  // zigzag is a pivot series (NaN between pivots by design); cmf/vwap/adline outputs can be
  // legitimately NaN mid-series on zero volume; rvi on a flat window (no range at all).
  const SPARSE = new Set(['zigzag'])
  it('the primary output is NaN exactly for the declared warm-up prefix, then finite on positive prices', () => {
    for (const d of listIndicators()) {
      if (SPARSE.has(d.type)) continue
      const params = resolveIndicatorParams(d.type, PARAMS[d.type]).params
      const warm = d.warmup(params)
      fc.assert(
        fc.property(barsArb(Math.max(d.minBars(params), warm + 1) + 5, 60), (bars) => {
          // Volume indicators need some volume and some range to be finite; give every bar some.
          for (let i = 0; i < bars.length; i++) {
            bars.volume[i] += 1
            if (bars.high[i] === bars.low[i]) {
              bars.high[i] *= 1.001
              bars.low[i] *= 0.999
            }
          }
          const primary = computeIndicator(d.type, params, bars)[d.outputs(params)[0]]
          for (let i = 0; i < warm; i++) expect(Number.isNaN(primary[i]), `${d.type}[${i}] in warm-up`).toBe(true)
          for (let i = warm; i < bars.length; i++)
            expect(Number.isFinite(primary[i]), `${d.type}[${i}] after warm-up = ${primary[i]}`).toBe(true)
        }),
        { numRuns: 15 },
      )
    }
  })
})

describe('no look-ahead', () => {
  // Changing bars after t must not change any output at or before t. zigzag is excluded by
  // design: a later extension moves the last pivot (it is a labeller, not a feature).
  const CAUSAL = listIndicators().filter((d) => d.type !== 'zigzag')
  it('every causal indicator, every output', () => {
    fc.assert(
      fc.property(barsArb(40, 70), barsArb(70, 70), fc.integer({ min: 10, max: 39 }), (a, b, t) => {
        const mixed = spliceFuture(a, b, t + 1)
        for (const d of CAUSAL) {
          const params = PARAMS[d.type]
          const x = computeIndicator(d.type, params, a)
          const y = computeIndicator(d.type, params, mixed)
          for (const k of Object.keys(x)) {
            for (let i = 0; i <= t; i++) {
              const same = Object.is(x[k][i], y[k][i]) || Math.abs(x[k][i] - y[k][i]) === 0
              if (!same) expect.fail(`${d.type}.${k}[${i}] changed (${x[k][i]} → ${y[k][i]}) when bars after ${t} changed`)
            }
          }
        }
      }),
      { numRuns: 25 },
    )
  })
  it('zigzag does look ahead (documented): an extension after t erases a pivot at t', () => {
    const a = emptyBars(3)
    a.close.set([100, 120, 125])
    const z = computeIndicator('zigzag', { threshold: 0.1 }, a).zigzag
    expect(Number.isNaN(z[1])).toBe(true)
  })
})
