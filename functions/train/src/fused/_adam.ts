import { ADAM } from '../_optimizer.ts'

/** Adam slots laid out like the parameters; float32 like tfjs's, so checkpoints move between paths. */
export interface FusedAdam {
  m: Float32Array[]
  v: Float32Array[]
  /** Steps taken (tfjs's `iter`). */
  iterations: number
  /** β1^(t+1) and β2^(t+1) multiplied up in float32, as tfjs keeps accBeta1/accBeta2. */
  acc1: number
  acc2: number
}

export function createFusedAdam(params: Float32Array[]): FusedAdam {
  return {
    m: params.map((p) => new Float32Array(p.length)),
    v: params.map((p) => new Float32Array(p.length)),
    iterations: 0,
    acc1: Math.fround(ADAM.beta1),
    acc2: Math.fround(ADAM.beta2),
  }
}

/** Slots from a checkpoint: `iterations` steps taken; the β powers are rebuilt the way training builds them. */
export function restoreFusedAdam(iterations: number, m: Float32Array[], v: Float32Array[]): FusedAdam {
  const b1 = Math.fround(ADAM.beta1)
  const b2 = Math.fround(ADAM.beta2)
  let acc1 = b1
  let acc2 = b2
  for (let t = 0; t < iterations; t++) {
    acc1 = Math.fround(acc1 * b1)
    acc2 = Math.fround(acc2 * b2)
  }
  return { m, v, iterations, acc1, acc2 }
}

/**
 * One Adam step with tfjs's arithmetic (bias correction by 1 − β^t, ε added to √v̂), the gradients
 * scaled by `gradScale` (global-norm clipping), then decoupled weight decay w ← w·(1 − lr·wd) on
 * the parameters flagged in `decay` (kernels, not biases), as ../_step.ts does after applyGradients.
 */
export function fusedAdamStep(
  opt: FusedAdam,
  params: Float32Array[],
  grads: Float64Array[],
  gradScale: number,
  lr: number,
  decay: boolean[],
  weightDecay: number,
): void {
  const { beta1, beta2, epsilon } = ADAM
  const c1 = 1 - opt.acc1
  const c2 = 1 - opt.acc2
  const lr32 = Math.fround(lr)
  const factor = Math.fround(1 - lr * weightDecay)
  for (let p = 0; p < params.length; p++) {
    const w = params[p]
    const g = grads[p]
    const m = opt.m[p]
    const v = opt.v[p]
    const decayed = weightDecay > 0 && decay[p]
    for (let j = 0; j < w.length; j++) {
      const gj = g[j] * gradScale
      const mj = (m[j] = beta1 * m[j] + (1 - beta1) * gj)
      const vj = (v[j] = beta2 * v[j] + (1 - beta2) * gj * gj)
      const next = Math.fround(w[j] - lr32 * (mj / c1 / (Math.sqrt(vj / c2) + epsilon)))
      w[j] = decayed ? next * factor : next
    }
  }
  opt.acc1 = Math.fround(opt.acc1 * Math.fround(beta1))
  opt.acc2 = Math.fround(opt.acc2 * Math.fround(beta2))
  opt.iterations++
}
