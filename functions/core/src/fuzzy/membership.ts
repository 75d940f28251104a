// §3.1 membership functions. Scalar forms are the reference; the batch kernels below inline the
// same arithmetic so feature building does not pay a call per bar.
import type { MembershipType, ResolvedMembership } from '../strategy/types.ts'

const EPS = Number.EPSILON

/** Triangular [a,b,c]: x==b ⇒ 1 first (so a=b or b=c still peak), x≤a or x≥c ⇒ 0. */
export function triangular(x: number, a: number, b: number, c: number): number {
  if (x !== x) return Number.NaN
  if (x === b) return 1
  if (x <= a || x >= c) return 0
  if (x < b) return (x - a) / Math.max(b - a, EPS)
  return (c - x) / Math.max(c - b, EPS)
}

/** Trapezoidal [a,b,c,d], checks in §3.1 order: x≤a or x≥d ⇒ 0 first, then the edges and plateau. */
export function trapezoidal(x: number, a: number, b: number, c: number, d: number): number {
  if (x !== x) return Number.NaN
  if (x <= a || x >= d) return 0
  if (x >= b && x <= c) return 1
  if (x < b) return (x - a) / Math.max(b - a, EPS)
  return (d - x) / Math.max(d - c, EPS)
}

/** Gaussian [μ,σ]: exp(−½((x−μ)/σ)²). */
export function gaussian(x: number, mu: number, sigma: number): number {
  if (x !== x) return Number.NaN
  const z = (x - mu) / sigma
  return Math.exp(-0.5 * z * z)
}

/** Sigmoid [center, slope]: 1/(1+exp(−slope·(x−center))) — skfuzzy's sigmf order. */
export function sigmoid(x: number, center: number, slope: number): number {
  if (x !== x) return Number.NaN
  return 1 / (1 + Math.exp(-slope * (x - center)))
}

export function evaluateMembership(type: MembershipType, p: readonly number[], x: number): number {
  switch (type) {
    case 'triangular': return triangular(x, p[0], p[1], p[2])
    case 'trapezoidal': return trapezoidal(x, p[0], p[1], p[2], p[3])
    case 'gaussian': return gaussian(x, p[0], p[1])
    case 'sigmoid': return sigmoid(x, p[0], p[1])
  }
}

/**
 * Evaluates `m` on x[idx[r]] (or x[r] when idx is null) and writes out[r*stride + offset] for
 * r in [0, rows). idx[r] < 0 writes NaN (no visible bar yet).
 */
export function fuzzifyInto(
  m: ResolvedMembership,
  x: Float64Array,
  idx: Int32Array | null,
  out: Float32Array | Float64Array,
  rows: number,
  stride: number,
  offset: number,
): void {
  const p = m.parameters
  let o = offset
  switch (m.type) {
    case 'triangular': {
      const a = p[0], b = p[1], c = p[2]
      // Division (not a precomputed reciprocal) keeps batch and scalar results bit-identical.
      const dl = Math.max(b - a, EPS), dr = Math.max(c - b, EPS)
      for (let r = 0; r < rows; r++, o += stride) {
        const j = idx === null ? r : idx[r]
        const v = j < 0 ? Number.NaN : x[j]
        out[o] = v !== v ? Number.NaN : v === b ? 1 : v <= a || v >= c ? 0 : v < b ? (v - a) / dl : (c - v) / dr
      }
      return
    }
    case 'trapezoidal': {
      const a = p[0], b = p[1], c = p[2], d = p[3]
      for (let r = 0; r < rows; r++, o += stride) {
        const j = idx === null ? r : idx[r]
        out[o] = j < 0 ? Number.NaN : trapezoidal(x[j], a, b, c, d)
      }
      return
    }
    case 'gaussian': {
      const mu = p[0], s = p[1]
      for (let r = 0; r < rows; r++, o += stride) {
        const j = idx === null ? r : idx[r]
        const v = j < 0 ? Number.NaN : x[j]
        const z = (v - mu) / s
        out[o] = Math.exp(-0.5 * z * z)
      }
      return
    }
    case 'sigmoid': {
      const ctr = p[0], sl = p[1]
      for (let r = 0; r < rows; r++, o += stride) {
        const j = idx === null ? r : idx[r]
        const v = j < 0 ? Number.NaN : x[j]
        out[o] = 1 / (1 + Math.exp(-sl * (v - ctr)))
      }
    }
  }
}

/** Batch membership over a Float64Array (NaN in ⇒ NaN out). */
export function fuzzify(m: ResolvedMembership, x: Float64Array): Float64Array {
  const out = new Float64Array(x.length)
  fuzzifyInto(m, x, null, out, x.length, 1, 0)
  return out
}
