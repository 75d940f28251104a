/** max_points of the routes that serve decimated curves: the default, and the bounds a request may ask. */
export const CHART_POINTS = { default: 2000, min: 16, max: 100_000 } as const

/**
 * Min/max-preserving decimation (M4: per bucket the first, lowest, highest and last point). A chart
 * drawn from the kept points is the one drawn from all of them at that width: every spike, the
 * global extremes and both ends survive, which an average or every-n-th sample would drop (a
 * drawdown that lasts one bar is exactly what a researcher must see). O(n), one pass.
 *
 * Returns the kept indices, ascending, at most `maxPoints` of them (every index when n ≤ maxPoints).
 */
export function decimateIndices(values: ArrayLike<number>, maxPoints: number): Uint32Array {
  const n = values.length
  if (n <= maxPoints) {
    const all = new Uint32Array(n)
    for (let i = 0; i < n; i++) all[i] = i
    return all
  }
  const buckets = Math.max(1, Math.floor(maxPoints / 4))
  const out = new Uint32Array(buckets * 4)
  let m = 0
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * n) / buckets)
    const to = Math.floor(((b + 1) * n) / buckets) // exclusive
    if (to <= from) continue
    let lo = from
    let hi = from
    for (let i = from + 1; i < to; i++) {
      const v = values[i]
      // NaN never wins either comparison, so a gap cannot hide a real extreme.
      if (v < values[lo] || Number.isNaN(values[lo])) lo = i
      if (v > values[hi] || Number.isNaN(values[hi])) hi = i
    }
    const last = to - 1
    const a = Math.min(lo, hi)
    const c = Math.max(lo, hi)
    out[m++] = from
    if (a !== from) out[m++] = a
    if (c !== a && c !== last) out[m++] = c
    if (last !== from && last !== a) out[m++] = last
  }
  return out.slice(0, m)
}

/** `values` at `indices`, as a plain array (JSON). */
export function pick<T extends number>(values: ArrayLike<T>, indices: Uint32Array): T[] {
  const out = new Array<T>(indices.length)
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i]]
  return out
}

/**
 * Indices kept for several curves sharing one time axis: each curve decimated to an equal share of
 * `maxPoints`, then the union, so every curve keeps its own extremes and all of them line up point
 * for point (charts can then follow each other by index). At most `maxPoints` indices.
 */
export function decimateTogether(curves: ArrayLike<number>[], maxPoints: number): Uint32Array {
  const n = curves[0]?.length ?? 0
  if (n <= maxPoints) return decimateIndices(curves[0] ?? [], maxPoints)
  const share = Math.max(4, Math.floor(maxPoints / curves.length))
  const keep = new Uint8Array(n)
  for (const c of curves) for (const i of decimateIndices(c, share)) keep[i] = 1
  let m = 0
  for (let i = 0; i < n; i++) m += keep[i]
  const out = new Uint32Array(m)
  for (let i = 0, k = 0; i < n; i++) if (keep[i]) out[k++] = i
  return out
}
