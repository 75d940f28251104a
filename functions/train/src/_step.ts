import { setDropoutStep } from '../../../trading/model/index.ts'
import { tf } from '../../../trading/model/index.ts'
import type { LoopConfig } from './config.ts'
import { countCorrect, type LossFn } from './_losses.ts'

export interface TrainStepContext {
  model: tf.LayersModel
  optimizer: tf.Optimizer
  variables: tf.Variable[]
  /** Kernels (rank ≥ 2) that get decoupled weight decay; biases do not. */
  decayed: tf.Variable[]
  /** All feature rows, and all targets, on the device. */
  X: tf.Tensor2D
  Y: tf.Tensor1D
  cols: number
  sequenceLength: number
  loss: LossFn
  config: Pick<LoopConfig, 'gradient_clip' | 'weight_decay'>
  regression: boolean
}

/**
 * One optimisation step on the samples `idx` (each the row of its last feature row): forward,
 * gradients, global-norm clipping, update, decoupled weight decay at learning rate `lr`. Returns
 * the batch loss and hit count as device scalars the caller owns (read once per epoch).
 */
export function trainStep(
  c: TrainStepContext,
  idx: Int32Array,
  dropoutStep: number,
  lr: number,
): { value: tf.Scalar; batchCorrect: tf.Scalar } {
  const { model, X, Y, config } = c
  const L = c.sequenceLength
  const size = idx.length
  const gatherIdx = new Int32Array(size * L)
  for (let i = 0; i < size; i++) for (let k = 0; k < L; k++) gatherIdx[i * L + k] = idx[i] - L + 1 + k
  setDropoutStep(model, dropoutStep)
  const result = tf.tidy(() => {
    const rows = tf.gather(X, tf.tensor1d(gatherIdx, 'int32'))
    const xb = L === 1 ? rows : tf.reshape(rows, [size, L, c.cols])
    const yb = tf.gather(Y, tf.tensor1d(idx, 'int32'))
    let batchCorrect: tf.Scalar | undefined
    const { value, grads } = tf.variableGrads(() => {
      const outputs = model.apply(xb, { training: true }) as tf.Tensor
      // variableGrads disposes intermediates: count hits while the outputs still exist.
      batchCorrect = tf.keep(countCorrect(outputs, yb, c.regression))
      return c.loss(outputs, yb)
    }, c.variables)
    let clipped = grads
    if (config.gradient_clip > 0) {
      // One flat vector: 4 kernels instead of 2 per variable (op count dominates on wasm).
      const norm = tf.sqrt(tf.sum(tf.square(tf.concat(Object.values(grads).map((g) => tf.reshape(g, [-1]))))))
      const scale = tf.div(config.gradient_clip, tf.maximum(norm, config.gradient_clip))
      clipped = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, scale)]))
    }
    c.optimizer.applyGradients(clipped)
    if (config.weight_decay > 0) {
      const factor = 1 - lr * config.weight_decay
      for (const v of c.decayed) v.assign(tf.mul(v, factor))
    }
    return { value: tf.keep(value), batchCorrect: batchCorrect! }
  })
  setDropoutStep(model, null)
  return result
}
