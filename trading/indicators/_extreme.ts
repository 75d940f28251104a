// Sliding-window max/min (HH/LL of Donchian, stochastic, Williams %R, Fisher, Ichimoku, Aroon).
// Both paths allocate their fixed buffers before the bar loop.

/**
 * Rolling max or min over `n` bars with a monotonic deque (ring buffer of indices), O(n) total.
 * On ties the OLDEST extreme stays in front (numpy argmax semantics), which Aroon relies on.
 * `outIndex`, when given, receives the bar index of the extreme.
 */
export function rollingExtreme(src: Float64Array, n: number, isMax: boolean, out: Float64Array, outIndex?: Int32Array): Float64Array {
  if (!outIndex && blockExtreme(src, n, isMax, out)) return out
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
    while (head !== tail && ring[head] <= oldest) {
      if (++head === cap) head = 0
    }
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

/**
 * Value-only sliding max/min by the van Herk / Gil-Werman block method: per block of n bars a
 * forward running extreme and a backward one; the window [i−n+1, i] is then the extreme of the
 * backward value at its start and the forward value at i. Three branch-free passes, ~3
 * comparisons per bar whatever the data (a deque's pops mispredict on real prices). Causal: the
 * backward value at i−n+1 only covers bars up to the end of its block, which is ≤ i.
 * Returns false at the first NaN (the deque path handles NaN windows).
 */
function blockExtreme(src: Float64Array, n: number, isMax: boolean, out: Float64Array): boolean {
  const len = src.length
  if (len === 0) return true
  const fwd = new Float64Array(len)
  const bwd = new Float64Array(len)
  let k = 0
  for (let i = 0; i < len; i++) {
    const x = src[i]
    if (x !== x) return false
    if (k === 0) fwd[i] = x
    else fwd[i] = isMax ? Math.max(fwd[i - 1], x) : Math.min(fwd[i - 1], x)
    if (++k === n) k = 0
  }
  // Backward pass: position within the block of bar i is i mod n; blocks start at multiples of n.
  let pos = (len - 1) % n
  for (let i = len - 1; i >= 0; i--) {
    const x = src[i]
    if (pos === n - 1 || i === len - 1) bwd[i] = x
    else bwd[i] = isMax ? Math.max(bwd[i + 1], x) : Math.min(bwd[i + 1], x)
    if (--pos < 0) pos = n - 1
  }
  const lim = Math.min(n - 1, len)
  for (let i = 0; i < lim; i++) out[i] = NaN
  for (let i = n - 1; i < len; i++) {
    const a = bwd[i - n + 1]
    const b = fwd[i]
    out[i] = isMax ? (a > b ? a : b) : a < b ? a : b
  }
  return true
}
