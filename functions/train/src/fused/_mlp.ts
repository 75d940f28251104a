import type { Activation } from '../../../../trading/model/index.ts'
import { alea } from './_alea.ts'

/** The dense stack of an MLP as buildModel lays it out: sizes [input, ...hidden, output]. */
export interface FusedMlpShape {
  sizes: number[]
  activation: Activation
  /** Dropout rate after every hidden layer, and each SeededDropout layer's seed (in layer order). */
  dropout: number
  dropoutSeeds: number[]
}

/** Scratch for `rows` samples: activations kept for the backward pass, and the backward's deltas. */
export interface MlpWorkspace {
  rows: number
  /** acts[0]: the input rows; acts[l]: layer l's output after activation (before dropout); acts[L]: logits. */
  acts: Float64Array[]
  /** What layer l + 1 reads: acts[l] after dropout (the same array when dropout is off). */
  inputs: Float64Array[]
  /** Per hidden element: 0 (dropped) or 1/(1 − rate). */
  keep: Float64Array[]
  /** Deltas w.r.t. each layer's pre-activation output, per layer. */
  deltas: Float64Array[]
}

const LEAKY_SLOPE = 0.01

export function createMlpWorkspace(shape: FusedMlpShape, rows: number, training: boolean): MlpWorkspace {
  const L = shape.sizes.length - 1
  const acts = shape.sizes.map((n) => new Float64Array(rows * n))
  const withDropout = training && shape.dropout > 0
  const keep = shape.sizes.map((n, l) => (withDropout && l > 0 && l < L ? new Float64Array(rows * n) : new Float64Array(0)))
  const inputs = acts.map((a, l) => (withDropout && l > 0 && l < L ? new Float64Array(a.length) : a))
  const deltas = training ? shape.sizes.map((n) => new Float64Array(rows * n)) : []
  return { rows, acts, inputs, keep, deltas }
}

/**
 * Forward pass over the first `n` rows of ws.acts[0]. `dropoutStep` null = inference. Masks are
 * SeededDropout's: element j of layer l is kept when the j-th float32 draw of
 * alea(String((seed_l mod 1000003)·1000033 + step)) is ≥ rate (float32 compare).
 */
export function mlpForward(shape: FusedMlpShape, params: Float32Array[], ws: MlpWorkspace, n: number, dropoutStep: number | null): void {
  const { sizes, activation } = shape
  const L = sizes.length - 1
  const rate = Math.fround(shape.dropout)
  const scale = Math.fround(1 / (1 - shape.dropout))
  for (let l = 0; l < L; l++) {
    const I = sizes[l]
    const O = sizes[l + 1]
    const W = params[2 * l]
    const b = params[2 * l + 1]
    const x = ws.inputs[l]
    const z = ws.acts[l + 1]
    for (let i = 0; i < n; i++) {
      const zo = i * O
      const xo = i * I
      for (let o = 0; o < O; o++) z[zo + o] = b[o]
      for (let k = 0; k < I; k++) {
        const xv = x[xo + k]
        // ReLU and dropout zero a large share of hidden inputs: skipping them halves the work.
        if (xv === 0) continue
        const wo = k * O
        for (let o = 0; o < O; o++) z[zo + o] += xv * W[wo + o]
      }
    }
    if (l === L - 1) break
    const m = n * O
    switch (activation) {
      case 'relu':
        for (let j = 0; j < m; j++) if (z[j] < 0) z[j] = 0
        break
      case 'leaky_relu':
        for (let j = 0; j < m; j++) if (z[j] < 0) z[j] *= LEAKY_SLOPE
        break
      case 'tanh':
        for (let j = 0; j < m; j++) z[j] = Math.tanh(z[j])
        break
      case 'sigmoid':
        for (let j = 0; j < m; j++) z[j] = 1 / (1 + Math.exp(-z[j]))
        break
    }
    const out = ws.inputs[l + 1]
    if (out === z) continue
    if (dropoutStep === null) {
      out.set(z.subarray(0, m))
      continue
    }
    const seed = shape.dropoutSeeds[l]
    const random = alea(String((seed % 1_000_003) * 1_000_033 + dropoutStep))
    const keep = ws.keep[l + 1]
    for (let j = 0; j < m; j++) {
      const k = Math.fround(random()) >= rate ? scale : 0
      keep[j] = k
      out[j] = z[j] * k
    }
  }
}

/**
 * Backward pass for the rows of the last forward: ws.deltas[L] holds dLoss/dlogits on entry;
 * gradients are written (not accumulated) into grads, laid out like params.
 */
export function mlpBackward(shape: FusedMlpShape, params: Float32Array[], ws: MlpWorkspace, n: number, grads: Float64Array[]): void {
  const { sizes, activation } = shape
  const L = sizes.length - 1
  for (let l = L - 1; l >= 0; l--) {
    const I = sizes[l]
    const O = sizes[l + 1]
    const W = params[2 * l]
    const dW = grads[2 * l]
    const db = grads[2 * l + 1]
    const x = ws.inputs[l]
    const dz = ws.deltas[l + 1]
    dW.fill(0)
    db.fill(0)
    for (let i = 0; i < n; i++) {
      const zo = i * O
      for (let o = 0; o < O; o++) db[o] += dz[zo + o]
      const xo = i * I
      for (let k = 0; k < I; k++) {
        const xv = x[xo + k]
        if (xv === 0) continue
        const wo = k * O
        for (let o = 0; o < O; o++) dW[wo + o] += xv * dz[zo + o]
      }
    }
    if (l === 0) break
    // Delta of the layer below: through this kernel, its dropout mask and its activation.
    const dx = ws.deltas[l]
    const a = ws.acts[l]
    const keep = ws.keep[l]
    const dropout = keep.length > 0
    for (let i = 0; i < n; i++) {
      const zo = i * O
      const xo = i * I
      for (let k = 0; k < I; k++) {
        const j = xo + k
        const kj = dropout ? keep[j] : 1
        if (kj === 0) {
          dx[j] = 0
          continue
        }
        const av = a[j]
        let d: number
        switch (activation) {
          case 'relu':
            d = av > 0 ? 1 : 0
            break
          case 'leaky_relu':
            d = av > 0 ? 1 : LEAKY_SLOPE
            break
          case 'tanh':
            d = 1 - av * av
            break
          default:
            d = av * (1 - av)
        }
        if (d === 0) {
          dx[j] = 0
          continue
        }
        const wo = k * O
        let s = 0
        for (let o = 0; o < O; o++) s += dz[zo + o] * W[wo + o]
        dx[j] = s * kj * d
      }
    }
  }
}
