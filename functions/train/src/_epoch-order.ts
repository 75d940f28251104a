import { mulberry32 } from '../../../trading/index.ts'

/** The epoch's sample order: a seeded permutation, or weighted draws with replacement (TB uniqueness). */
export function epochOrder(samples: Int32Array, seed: number, epoch: number, weights?: Float64Array | null): Int32Array {
  const rng = mulberry32((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0)
  const n = samples.length
  const out = new Int32Array(n)
  if (weights) {
    const cum = new Float64Array(n)
    let acc = 0
    for (let i = 0; i < n; i++) {
      acc += Math.max(0, weights[samples[i]] || 0)
      cum[i] = acc
    }
    if (acc > 0) {
      for (let k = 0; k < n; k++) {
        const u = rng() * acc
        let lo = 0
        let hi = n - 1
        while (lo < hi) {
          const mid = (lo + hi) >> 1
          if (cum[mid] > u) hi = mid
          else lo = mid + 1
        }
        out[k] = samples[lo]
      }
      return out
    }
  }
  out.set(samples)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    const t = out[i]
    out[i] = out[j]
    out[j] = t
  }
  return out
}
