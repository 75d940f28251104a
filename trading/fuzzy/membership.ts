// docs/domain.md#fuzzy-memberships membership functions. Scalar forms are the reference; the batch kernels below inline the
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

/** Trapezoidal [a,b,c,d], checks in docs/domain.md#fuzzy-memberships order: x≤a or x≥d ⇒ 0 first, then the edges and plateau. */
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
    case 'triangular':
      return triangular(x, p[0], p[1], p[2])
    case 'trapezoidal':
      return trapezoidal(x, p[0], p[1], p[2], p[3])
    case 'gaussian':
      return gaussian(x, p[0], p[1])
    case 'sigmoid':
      return sigmoid(x, p[0], p[1])
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
  // Gather through the alignment index first so the kernels below stay branch-light and
  // monomorphic (one contiguous input, one strided output).
  let src = x
  if (idx !== null) {
    src = new Float64Array(rows)
    for (let r = 0; r < rows; r++) {
      const j = idx[r]
      src[r] = j < 0 ? Number.NaN : x[j]
    }
  }
  const p = m.parameters
  switch (m.type) {
    case 'triangular':
      return triangularKernel(src, out, rows, stride, offset, p[0], p[1], p[2])
    case 'trapezoidal':
      return trapezoidalKernel(src, out, rows, stride, offset, p[0], p[1], p[2], p[3])
    case 'gaussian':
      return gaussianKernel(src, out, rows, stride, offset, p[0], p[1])
    case 'sigmoid':
      return sigmoidKernel(src, out, rows, stride, offset, p[0], p[1])
  }
}

function triangularKernel(
  x: Float64Array,
  out: Float32Array | Float64Array,
  rows: number,
  stride: number,
  offset: number,
  a: number,
  b: number,
  c: number,
): void {
  // Division (not a precomputed reciprocal) keeps batch and scalar results bit-identical.
  const dl = Math.max(b - a, EPS),
    dr = Math.max(c - b, EPS)
  for (let r = 0, o = offset; r < rows; r++, o += stride) {
    const v = x[r]
    out[o] = v !== v ? Number.NaN : v === b ? 1 : v <= a || v >= c ? 0 : v < b ? (v - a) / dl : (c - v) / dr
  }
}

function trapezoidalKernel(
  x: Float64Array,
  out: Float32Array | Float64Array,
  rows: number,
  stride: number,
  offset: number,
  a: number,
  b: number,
  c: number,
  d: number,
): void {
  const dl = Math.max(b - a, EPS),
    dr = Math.max(d - c, EPS)
  for (let r = 0, o = offset; r < rows; r++, o += stride) {
    const v = x[r]
    out[o] = v !== v ? Number.NaN : v <= a || v >= d ? 0 : v >= b && v <= c ? 1 : v < b ? (v - a) / dl : (d - v) / dr
  }
}

function gaussianKernel(
  x: Float64Array,
  out: Float32Array | Float64Array,
  rows: number,
  stride: number,
  offset: number,
  mu: number,
  s: number,
): void {
  for (let r = 0, o = offset; r < rows; r++, o += stride) {
    const z = (x[r] - mu) / s
    out[o] = Math.exp(-0.5 * z * z)
  }
}

function sigmoidKernel(
  x: Float64Array,
  out: Float32Array | Float64Array,
  rows: number,
  stride: number,
  offset: number,
  ctr: number,
  sl: number,
): void {
  for (let r = 0, o = offset; r < rows; r++, o += stride) out[o] = 1 / (1 + Math.exp(-sl * (x[r] - ctr)))
}

/** Batch membership over a Float64Array (NaN in ⇒ NaN out). */
export function fuzzify(m: ResolvedMembership, x: Float64Array): Float64Array {
  const out = new Float64Array(x.length)
  fuzzifyInto(m, x, null, out, x.length, 1, 0)
  return out
}
