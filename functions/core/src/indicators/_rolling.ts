// Rolling-window primitives shared by the indicator kernels. Every function writes into a
// caller-provided output and allocates at most one small fixed-size buffer before its loop.
//
// NaN handling follows pandas `rolling(n, min_periods=m)`: NaN inputs are skipped, and a bar is
// NaN unless its window holds at least `minPeriods` finite values. Leading NaN from a chained
// input (e.g. an SMA over an indicator that is still warming up) therefore extends the warm-up.

/**
 * Rolling mean with Kahan-compensated add/remove (the same scheme pandas uses), so a running sum
 * over millions of bars does not drift.
 */
export function rollingMean(src: Float64Array, n: number, minPeriods: number, out: Float64Array): Float64Array {
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
    // A window of zeros (or an empty one) must read exactly 0, not Kahan residue: MFI, CMF and
    // volume ratios branch on an exact zero.
    if (nonzero === 0) { sum = 0; comp = 0 }
    out[i] = count >= minPeriods && count > 0 ? sum / count : NaN
  }
  return out
}

/** Rolling sum (Kahan-compensated), NaN unless `minPeriods` finite values are in the window. */
export function rollingSum(src: Float64Array, n: number, minPeriods: number, out: Float64Array): Float64Array {
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
    if (nonzero === 0) { sum = 0; comp = 0 }
    out[i] = count >= minPeriods && count > 0 ? sum : NaN
  }
  return out
}

/**
 * Rolling mean and sample (ddof=1) standard deviation in one pass, using Welford's online
 * update with removal (pandas' add_var/remove_var): stable for forex-scale prices whose variance
 * is ~1e-8 of their square, where a sum-of-squares would cancel catastrophically.
 */
export function rollingMeanStd(src: Float64Array, n: number, outMean: Float64Array, outStd: Float64Array): void {
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
        } else { mean = 0; m2 = 0 }
      }
    }
    if (count >= n) {
      outMean[i] = mean
      // Rounding can leave a tiny negative m2 on a flat window; variance cannot be negative.
      outStd[i] = n > 1 ? Math.sqrt(m2 > 0 ? m2 / (count - 1) : 0) : NaN
    } else {
      outMean[i] = NaN
      outStd[i] = NaN
    }
  }
}

/**
 * Rolling max or min over `n` bars with a monotonic deque (ring buffer of indices), O(n) total.
 * On ties the OLDEST extreme stays in front (numpy argmax semantics), which Aroon relies on.
 * `outIndex`, when given, receives the bar index of the extreme.
 */
export function rollingExtreme(src: Float64Array, n: number, isMax: boolean, out: Float64Array, outIndex?: Int32Array): Float64Array {
  const len = src.length
  const cap = n + 1
  const ring = new Int32Array(cap)
  // head: front slot; tail: one past the back slot. Wrapped by compare, not modulo (hot loop).
  let head = 0
  let tail = 0
  let nanInWindow = 0
  const sign = isMax ? 1 : -1
  for (let i = 0; i < len; i++) {
    // Expire first so the ring never holds more than n indices.
    const oldest = i - n
    while (head !== tail && ring[head] <= oldest) { if (++head === cap) head = 0 }
    const x = src[i]
    if (x === x) {
      const sx = sign * x
      // Pop strictly smaller (for max) from the back so equal older values keep priority.
      while (head !== tail) {
        const back = tail === 0 ? cap - 1 : tail - 1
        if (sign * src[ring[back]] < sx) tail = back
        else break
      }
      ring[tail] = i
      if (++tail === cap) tail = 0
    } else {
      nanInWindow++
    }
    if (i >= n && src[i - n] !== src[i - n]) nanInWindow--
    if (i >= n - 1 && nanInWindow === 0 && head !== tail) {
      const j = ring[head]
      out[i] = src[j]
      if (outIndex) outIndex[i] = j
    } else {
      out[i] = NaN
      if (outIndex) outIndex[i] = -1
    }
  }
  return out
}

/** True range; TR0 = H0 − L0 (pandas' max skips the NaN previous close). */
export function trueRange(high: Float64Array, low: Float64Array, close: Float64Array, out: Float64Array): Float64Array {
  const len = high.length
  if (len === 0) return out
  out[0] = high[0] - low[0]
  for (let i = 1; i < len; i++) {
    const h = high[i]
    const l = low[i]
    const pc = close[i - 1]
    let tr = h - l
    const a = Math.abs(h - pc)
    const b = Math.abs(l - pc)
    if (a > tr) tr = a
    if (b > tr) tr = b
    out[i] = tr
  }
  return out
}
