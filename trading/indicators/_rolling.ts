// Rolling-window primitives shared by the indicator kernels. Every function writes into a
// caller-provided output and allocates at most one small fixed-size buffer before its loop.
//
// NaN handling follows pandas `rolling(n, min_periods=m)`: NaN inputs are skipped, and a bar is
// NaN unless its window holds at least `minPeriods` finite values. Leading NaN from a chained
// input (e.g. an SMA over an indicator that is still warming up) therefore extends the warm-up.

const RESYNC = 1024

/**
 * Rolling mean (pandas `rolling(n, min_periods).mean()`). A window of zeros reads exactly 0 —
 * MFI, CMF and volume ratios branch on an exact zero.
 */
export function rollingMean(src: Float64Array, n: number, minPeriods: number, out: Float64Array): Float64Array {
  return rollingSumFinite(src, n, minPeriods, out, true) ? out : rollingSumNaN(src, n, minPeriods, out, true)
}

/** Rolling sum, NaN unless `minPeriods` finite values are in the window. */
export function rollingSum(src: Float64Array, n: number, minPeriods: number, out: Float64Array): Float64Array {
  return rollingSumFinite(src, n, minPeriods, out, false) ? out : rollingSumNaN(src, n, minPeriods, out, false)
}

/**
 * Finite input: a plain running sum (two adds per bar, like a hand loop) that is recomputed
 * exactly from the window every RESYNC bars, so rounding cannot drift over millions of bars.
 * Returns false at the first NaN (the caller then redoes the series on the NaN-aware path).
 */
function rollingSumFinite(src: Float64Array, n: number, minPeriods: number, out: Float64Array, asMean: boolean): boolean {
  const len = src.length
  const need = Math.max(1, minPeriods)
  let sum = 0
  let nonzero = 0
  let since = 0
  for (let i = 0; i < len; i++) {
    const x = src[i]
    if (x !== x) return false
    sum += x
    if (x !== 0) nonzero++
    if (i >= n) {
      const old = src[i - n]
      sum -= old
      if (old !== 0) nonzero--
      if (++since >= RESYNC) {
        since = 0
        sum = 0
        for (let j = i - n + 1; j <= i; j++) sum += src[j]
      }
    }
    if (nonzero === 0) sum = 0
    const count = i < n ? i + 1 : n
    out[i] = count >= need ? (asMean ? sum / count : sum) : NaN
  }
  return true
}

/** NaN-aware path: NaN skipped, Kahan-compensated add/remove as pandas does. */
function rollingSumNaN(src: Float64Array, n: number, minPeriods: number, out: Float64Array, asMean: boolean): Float64Array {
  const len = src.length
  let sum = 0
  let comp = 0
  let count = 0
  let nonzero = 0
  for (let i = 0; i < len; i++) {
    const x = src[i]
    if (x === x) {
      const y = x - comp
      const t = sum + y
      comp = t - sum - y
      sum = t
      count++
      if (x !== 0) nonzero++
    }
    if (i >= n) {
      const old = src[i - n]
      if (old === old) {
        const y = -old - comp
        const t = sum + y
        comp = t - sum - y
        sum = t
        count--
        if (old !== 0) nonzero--
      }
    }
    if (nonzero === 0) {
      sum = 0
      comp = 0
    }
    out[i] = count >= minPeriods && count > 0 ? (asMean ? sum / count : sum) : NaN
  }
  return out
}

/**
 * Rolling mean and sample (ddof=1) standard deviation. Stable for forex-scale prices, whose
 * variance is ~1e-8 of their square (a plain sum-of-squares would cancel catastrophically):
 * - finite input: fixed-window Welford "replace" update (one multiply, no division per bar),
 *   re-synchronised exactly by a two-pass scan of the window every RESYNC bars, so rounding
 *   cannot accumulate over millions of bars;
 * - input with NaN (chained indicators): pandas' add/remove Welford with NaN skipping.
 */
export function rollingMeanStd(src: Float64Array, n: number, outMean: Float64Array, outStd: Float64Array): void {
  if (!rollingBandsFinite(src, n, NaN, outMean, outStd, undefined)) rollingMeanStdNaN(src, n, outMean, outStd)
}

/**
 * Bollinger-style bands in one pass: middle = rolling mean, upper/lower = middle ± k·σ (sample
 * std). Finite input takes the fused fast path; NaN input goes through rollingMeanStd's NaN path.
 */
export function rollingBands(
  src: Float64Array,
  n: number,
  k: number,
  upper: Float64Array,
  middle: Float64Array,
  lower: Float64Array,
): void {
  if (rollingBandsFinite(src, n, k, middle, upper, lower)) return
  rollingMeanStdNaN(src, n, middle, lower)
  for (let i = 0; i < src.length; i++) {
    const band = k * lower[i]
    upper[i] = middle[i] + band
    lower[i] = middle[i] - band
  }
}

/**
 * Finite fast path. With `lower` undefined it writes σ into `second`; otherwise `second` gets
 * mean + k·σ and `lower` mean − k·σ. Returns false at the first NaN.
 */
function rollingBandsFinite(
  src: Float64Array,
  n: number,
  k: number,
  outMean: Float64Array,
  second: Float64Array,
  lower: Float64Array | undefined,
): boolean {
  const len = src.length
  const invN = 1 / n
  const invN1 = n > 1 ? 1 / (n - 1) : NaN
  let mean = 0
  let m2 = 0
  let since = RESYNC
  for (let i = 0; i < len; i++) {
    const x = src[i]
    if (x !== x) return false
    if (i < n - 1) {
      outMean[i] = NaN
      second[i] = NaN
      if (lower) lower[i] = NaN
      continue
    }
    if (since >= RESYNC) {
      let s = 0
      for (let j = i - n + 1; j <= i; j++) s += src[j]
      mean = s / n
      m2 = 0
      for (let j = i - n + 1; j <= i; j++) {
        const d = src[j] - mean
        m2 += d * d
      }
      since = 0
    } else {
      const old = src[i - n]
      const d = x - old
      const nm = mean + d * invN
      m2 += d * (x - nm + old - mean)
      mean = nm
      since++
    }
    outMean[i] = mean
    // Rounding can leave a tiny negative m2 on a flat window; variance cannot be negative.
    const sd = Math.sqrt(m2 > 0 ? m2 * invN1 : 0)
    if (lower) {
      second[i] = mean + k * sd
      lower[i] = mean - k * sd
    } else second[i] = sd
  }
  return true
}

function rollingMeanStdNaN(src: Float64Array, n: number, outMean: Float64Array, outStd: Float64Array): void {
  const len = src.length
  let count = 0
  let mean = 0
  let m2 = 0
  for (let i = 0; i < len; i++) {
    const x = src[i]
    if (x === x) {
      count++
      const d = x - mean
      mean += d / count
      m2 += ((count - 1) * d * d) / count
    }
    if (i >= n) {
      const old = src[i - n]
      if (old === old) {
        count--
        if (count > 0) {
          const d = old - mean
          mean -= d / count
          m2 -= ((count + 1) * d * d) / count
        } else {
          mean = 0
          m2 = 0
        }
      }
    }
    if (count >= n) {
      outMean[i] = mean
      outStd[i] = n > 1 ? Math.sqrt(m2 > 0 ? m2 / (count - 1) : 0) : NaN
    } else {
      outMean[i] = NaN
      outStd[i] = NaN
    }
  }
}

/** True range; TR0 = H0 − L0 (pandas' max skips the NaN previous close). */
export function trueRange(high: Float64Array, low: Float64Array, close: Float64Array, out: Float64Array): Float64Array {
  const len = high.length
  if (len === 0) return out
  out[0] = high[0] - low[0]
  for (let i = 1; i < len; i++) {
    const pc = close[i - 1]
    // Math.max compiles branch-free; explicit ifs mispredict on real (random-looking) bars.
    out[i] = Math.max(high[i] - low[i], Math.abs(high[i] - pc), Math.abs(low[i] - pc))
  }
  return out
}
