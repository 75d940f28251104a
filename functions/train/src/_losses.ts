import { tf } from '../../../trading/model/index.ts'
import type { LoopConfig } from './config.ts'

/** (network outputs, targets) → scalar; targets are int32 class indices or float32 values. */
export type LossFn = (outputs: tf.Tensor, targets: tf.Tensor) => tf.Scalar

/**
 * Inverse-frequency class weights on the training labels (docs/domain.md#optimisation): w_c = 1/count_c, 0 for absent
 * classes, rescaled so Σw = number of classes.
 */
export function inverseFrequencyWeights(labels: ArrayLike<number>, numClasses: number): Float32Array {
  const counts = new Float64Array(numClasses)
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++
  const w = new Float32Array(numClasses)
  let sum = 0
  for (let c = 0; c < numClasses; c++) {
    w[c] = counts[c] > 0 ? 1 / counts[c] : 0
    sum += w[c]
  }
  if (sum > 0) for (let c = 0; c < numClasses; c++) w[c] *= numClasses / sum
  return w
}

/**
 * Classification: weighted cross-entropy with PyTorch's reduction (Σ w_y·nll / Σ w_y) or focal
 * loss −α_t(1−p_t)^γ·log p_t with α = the class weights, mean-reduced. Regression: Huber(δ) or MSE.
 * Returns the loss and a disposer for the constant it keeps.
 */
export function createLoss(config: LoopConfig, numClasses: number, classWeights: Float32Array | null): { loss: LossFn; dispose(): void } {
  if (config.loss === 'huber' || config.loss === 'mse') {
    const delta = config.huber_delta
    const loss: LossFn = (outputs, targets) =>
      tf.tidy(() => {
        const err = tf.sub(tf.reshape(outputs, [-1]), targets)
        if (config.loss === 'mse') return tf.mean(tf.square(err)) as tf.Scalar
        const abs = tf.abs(err)
        const quad = tf.minimum(abs, delta)
        return tf.mean(tf.add(tf.mul(0.5, tf.square(quad)), tf.mul(delta, tf.sub(abs, quad)))) as tf.Scalar
      })
    return { loss, dispose() {} }
  }
  const weights = tf.tensor1d(classWeights ?? new Float32Array(numClasses).fill(1))
  const gamma = config.focal_gamma
  const loss: LossFn = (outputs, targets) =>
    tf.tidy(() => {
      const logp = tf.logSoftmax(outputs)
      const onehot = tf.oneHot(tf.cast(targets, 'int32'), numClasses)
      const logpT = tf.sum(tf.mul(logp, onehot), 1)
      const alpha = tf.gather(weights, tf.cast(targets, 'int32'))
      if (config.loss === 'focal') {
        const focal = tf.pow(tf.sub(1, tf.exp(logpT)), gamma)
        return tf.mean(tf.neg(tf.mul(tf.mul(alpha, focal), logpT))) as tf.Scalar
      }
      return tf.div(tf.neg(tf.sum(tf.mul(alpha, logpT))), tf.maximum(tf.sum(alpha), 1e-12)) as tf.Scalar
    })
  return { loss, dispose: () => weights.dispose() }
}

/** Number of correct samples: argmax for classes, sign agreement for regression (docs/domain.md#optimisation). */
export function countCorrect(outputs: tf.Tensor, targets: tf.Tensor, regression: boolean): tf.Scalar {
  return tf.tidy(() => {
    const hit = regression
      ? tf.equal(tf.sign(tf.reshape(outputs, [-1])), tf.sign(targets))
      : tf.equal(tf.argMax(outputs, 1), tf.cast(targets, 'int32'))
    return tf.sum(tf.cast(hit, 'float32')) as tf.Scalar
  })
}
