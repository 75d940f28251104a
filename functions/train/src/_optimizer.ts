import { tf, type NamedTensor } from '../../core/src/model/tf.ts'
import type { LoopConfig } from './config.ts'

export function createOptimizer(config: LoopConfig): tf.Optimizer {
  switch (config.optimizer) {
    case 'sgd': return tf.train.momentum(config.learning_rate, 0.9)
    case 'rmsprop': return tf.train.rmsprop(config.learning_rate)
    default: return tf.train.adam(config.learning_rate, 0.9, 0.999, 1e-8)
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
