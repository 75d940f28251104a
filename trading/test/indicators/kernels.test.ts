// The shared primitives on the paths the catalogue tests rarely reach: NaN inputs (chained
// indicators), drift over long series, exact zeros, and the fused-vs-general MACD paths.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rollingBands, rollingMean, rollingMeanStd, rollingSum } from '../../indicators/_rolling.ts'
import { rollingExtreme } from '../../indicators/_extreme.ts'
import { ewm } from '../../indicators/_ewm.ts'
import { computeIndicator } from '../../indicators/registry.ts'
import { firstMismatch, randomBars, rng } from './_bars.ts'
import * as ref from './_reference.ts'

const f64 = (a: number[]) => Float64Array.from(a)
const N = NaN

describe('NaN inputs follow pandas rolling/ewm semantics', () => {
  const x = [N, N, 1, 2, N, 4, 5, 6, 7, N, 9]
  it('rollingMean / rollingSum skip NaN and honour min_periods', () => {
    for (const minP of [1, 2, 3]) {
      expect(firstMismatch(rollingMean(f64(x), 3, minP, new Float64Array(x.length)), ref.rollMean(x, 3, minP))).toBeUndefined()
      expect(firstMismatch(rollingSum(f64(x), 3, minP, new Float64Array(x.length)), ref.rollSum(x, 3, minP))).toBeUndefined()
    }
  })
  it('rollingMeanStd and rollingBands are NaN wherever the window holds a NaN', () => {
    const mean = new Float64Array(x.length),
      sd = new Float64Array(x.length)
    rollingMeanStd(f64(x), 3, mean, sd)
    const clean = (i: number) => i >= 2 && x.slice(i - 2, i + 1).every((v) => !Number.isNaN(v))
    const expSd = ref
      .rollStdSample(
        x.map((v) => (Number.isNaN(v) ? 0 : v)),
        3,
      )
      .map((v, i) => (clean(i) ? v : N))
    expect(firstMismatch(sd, expSd)).toBeUndefined()
    const up = new Float64Array(x.length),
      mid = new Float64Array(x.length),
      lo = new Float64Array(x.length)
    rollingBands(f64(x), 3, 2, up, mid, lo)
    expect(
      firstMismatch(
        up,
        expSd.map((s, i) => mean[i] + 2 * s),
      ),
    ).toBeUndefined()
  })
  it('rollingExtreme is NaN while a NaN is in the window', () => {
    expect(Array.from(rollingExtreme(f64([1, N, 3, 2, 1]), 2, true, new Float64Array(5)))).toEqual([N, N, N, 3, 2])
  })
  it('ewm starts at the first finite value (adjust true and false)', () => {
    const y = [N, N, 1, 2, 3]
    expect(firstMismatch(ewm(f64(y), 0.5, false, new Float64Array(5)), ref.ewm(y, 0.5, false))).toBeUndefined()
    expect(firstMismatch(ewm(f64(y), 0.5, true, new Float64Array(5)), ref.ewm(y, 0.5, true))).toBeUndefined()
  })
  it('ewm holds the last value across a mid-series NaN and decays the old weight (pandas ignore_na=False)', () => {
    // pandas: ewm(alpha=0.5, adjust=False) of [1, NaN, 3] = [1, 1, (0.25·1 + 0.5·3)/(0.25 + 0.5)].
    expect(Array.from(ewm(f64([1, N, 3]), 0.5, false, new Float64Array(3)))).toEqual([1, 1, 1.75 / 0.75])
  })
  it('MACD on a source with leading NaN takes the general path and matches the reference', () => {
    const b = randomBars(120, 5)
    b.close[0] = NaN
    b.close[1] = NaN
    const c = Array.from(b.close)
    const line = ref.ewm(c, ref.span(12), false).map((v, i) => v - ref.ewm(c, ref.span(26), false)[i])
    const m = computeIndicator('macd', {}, b)
    expect(firstMismatch(m.line, line)).toBeUndefined()
    expect(firstMismatch(m.signal, ref.ewm(line, ref.span(9), false))).toBeUndefined()
  })
})

describe('long series: no drift, exact zeros', () => {
  it('rolling mean/std over 300k bars stay within 1e-9 of an exact two-pass window (equity and forex scales)', () => {
    for (const [level, noise] of [
      [20_000, 50],
      [1.1, 1e-4],
    ] as const) {
      const r = rng(9)
      const n = 300_000
      const x = new Float64Array(n)
      let p = level
      for (let i = 0; i < n; i++) {
        p += (r() - 0.5) * noise
        x[i] = p
      }
      const mean = new Float64Array(n),
        sd = new Float64Array(n)
      rollingMeanStd(x, 50, mean, sd)
      const sma = rollingMean(x, 50, 50, new Float64Array(n))
      for (const i of [n - 1, n - 777, 123_457]) {
        const w = Array.from(x.subarray(i - 49, i + 1))
        const m = w.reduce((a, b) => a + b, 0) / 50
        const s = Math.sqrt(w.reduce((a, v) => a + (v - m) ** 2, 0) / 49)
        expect(Math.abs(mean[i] - m) / m).toBeLessThan(1e-12)
        expect(Math.abs(sma[i] - m) / m).toBeLessThan(1e-12)
        expect(Math.abs(sd[i] - s) / s).toBeLessThan(1e-9)
      }
    }
  })
  it('a window of zeros after large values reads exactly 0', () => {
    const out = rollingSum(f64([1e12, 3.3, 0, 0, 0.1, 0, 0]), 2, 2, new Float64Array(7))
    expect(out[3]).toBe(0)
    expect(out[6]).toBe(0)
    const withNaN = rollingSum(f64([N, 1e12, 3.3, 0, 0]), 2, 1, new Float64Array(5))
    expect(withNaN[4]).toBe(0)
  })
})

describe('sliding max/min', () => {
  it('block (van Herk) path and deque path both equal a naive scan, for any window and length', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 40 }),
        (xs, n) => {
          const x = f64(xs)
          const expMax = xs.map((_, i) => (i < n - 1 ? N : Math.max(...xs.slice(i - n + 1, i + 1))))
          const expMin = xs.map((_, i) => (i < n - 1 ? N : Math.min(...xs.slice(i - n + 1, i + 1))))
          expect(Array.from(rollingExtreme(x, n, true, new Float64Array(xs.length)))).toEqual(expMax)
          expect(Array.from(rollingExtreme(x, n, false, new Float64Array(xs.length)))).toEqual(expMin)
          const idx = new Int32Array(xs.length)
          expect(Array.from(rollingExtreme(x, n, true, new Float64Array(xs.length), idx))).toEqual(expMax)
        },
      ),
      { numRuns: 200 },
    )
  })
})
