/**
 * Close-time alignment of one timeframe onto the base grid. Bars are stamped with their OPEN
 * time, so a bar of duration D opened at T is known only at T + D. For each base bar i (known at
 * baseTime[i] + baseMs) this returns the last bar j of the other timeframe with
 * time[j] + ms ≤ baseTime[i] + baseMs, or -1 when none has closed yet. Forward-fill falls out:
 * j stays put until the next bar closes. Both time arrays must be sorted ascending.
 */
export function alignByClose(baseTime: Float64Array, baseMs: number, time: Float64Array, ms: number): Int32Array {
  const n = baseTime.length
  const m = time.length
  const out = new Int32Array(n)
  let j = -1
  for (let i = 0; i < n; i++) {
    const known = baseTime[i] + baseMs
    while (j + 1 < m && time[j + 1] + ms <= known) j++
    out[i] = j
  }
  return out
}
