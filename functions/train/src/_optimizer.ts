import { tf, type NamedTensor } from '../../../trading/model/index.ts'
import type { LoopConfig } from './config.ts'

/** Adam's constants, shared by the tfjs optimizer and the fused trainer (fused/_adam.ts). */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const

export function createOptimizer(config: LoopConfig): tf.Optimizer {
  switch (config.optimizer) {
    case 'sgd':
      return tf.train.momentum(config.learning_rate, 0.9)
    case 'rmsprop':
      return tf.train.rmsprop(config.learning_rate)
    default:
      return tf.train.adam(config.learning_rate, ADAM.beta1, ADAM.beta2, ADAM.epsilon)
  }
}

export function setLearningRate(optimizer: tf.Optimizer, lr: number) {
  const o = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate: number }
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr)
  else o.learningRate = lr
}

/** optimizer.getWeights() returns the slot variables themselves plus a fresh `iterations` scalar: free only the latter. */
export function releaseOptimizerWeights(weights: NamedTensor[]) {
  tf.dispose(weights.map((n) => n.tensor).filter((t) => !(t instanceof tf.Variable)))
}

/**
 * Restores optimizer slots from a checkpoint. Adam's setWeights recomputes β1^t and β2^t with
 * pow(), while training multiplies them up one step at a time in float32; for some t the two
 * differ in the last bits, which made a resumed run drift (by ~1e-8) from an uninterrupted one.
 * They are recomputed here the way training does, so a resume is bit-for-bit.
 */
export async function restoreOptimizerWeights(optimizer: tf.Optimizer, weights: NamedTensor[]): Promise<void> {
  await optimizer.setWeights(weights)
  const o = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable; beta1: number; beta2: number; iterations: number }
  if (!(o.accBeta1 instanceof tf.Variable) || !(o.accBeta2 instanceof tf.Variable)) return
  const beta1 = Math.fround(o.beta1)
  const beta2 = Math.fround(o.beta2)
  let acc1 = beta1
  let acc2 = beta2
  for (let t = 0; t < o.iterations; t++) {
    acc1 = Math.fround(acc1 * beta1)
    acc2 = Math.fround(acc2 * beta2)
  }
  tf.tidy(() => {
    o.accBeta1!.assign(tf.scalar(acc1))
    o.accBeta2!.assign(tf.scalar(acc2))
  })
}
