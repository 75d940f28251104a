import { SeededDropout } from './_dropout.ts'
import type { ModelSpec } from './spec.ts'
import { tf } from './tf.ts'

/**
 * Builds the network of docs/domain.md#network-architectures with tfjs layers. The output layer is linear: logits for
 * classification (softmax is applied by predict, like KTRDR applies it at decision time), the
 * predicted value for regression. Every initializer and dropout mask is seeded from spec.seed.
 */
export function buildModel(spec: ModelSpec): tf.LayersModel {
  // tfjs warns that orthogonal init of recurrent kernels above 2000 elements is slow; it takes
  // milliseconds at our sizes, and the warning would land in every training log.
  const warn = console.warn
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('Orthogonal initializer')) warn(...args)
  }
  try {
    return buildLayers(spec)
  } finally {
    console.warn = warn
  }
}

function buildLayers(spec: ModelSpec): tf.LayersModel {
  let seedCounter = 0
  const nextSeed = () => (spec.seed * 7919 + ++seedCounter * 104729) % 2_147_483_647
  const glorot = () => tf.initializers.glorotUniform({ seed: nextSeed() })
  const dropout = (name: string) => new SeededDropout({ rate: spec.dropout, seed: nextSeed(), name })

  if (spec.type === 'mlp') {
    const input = tf.input({ shape: [spec.inputSize], name: 'features' })
    let x: tf.SymbolicTensor = input
    spec.hiddenLayers.forEach((units, i) => {
      const linear = spec.activation === 'leaky_relu'
      x = tf.layers
        .dense({
          units,
          activation: linear ? 'linear' : (spec.activation as 'relu' | 'tanh' | 'sigmoid'),
          kernelInitializer: glorot(),
          name: `dense_${i}`,
        })
        .apply(x) as tf.SymbolicTensor
      // PyTorch's LeakyReLU default slope.
      if (linear) x = tf.layers.leakyReLU({ alpha: 0.01, name: `leaky_relu_${i}` }).apply(x) as tf.SymbolicTensor
      x = dropout(`dropout_${i}`).apply(x) as tf.SymbolicTensor
    })
    const output = tf.layers.dense({ units: spec.outputSize, kernelInitializer: glorot(), name: 'output' }).apply(x) as tf.SymbolicTensor
    return tf.model({ inputs: input, outputs: output, name: 'ktrdr_mlp' })
  }

  const input = tf.input({ shape: [spec.sequenceLength, spec.inputSize], name: 'windows' })
  let x: tf.SymbolicTensor = input
  for (let i = 0; i < spec.numLayers; i++) {
    const last = i === spec.numLayers - 1
    const common = {
      units: spec.hiddenSize,
      returnSequences: !last,
      kernelInitializer: glorot(),
      recurrentInitializer: tf.initializers.orthogonal({ seed: nextSeed(), gain: 1 }),
      name: `${spec.type}_${i}`,
    }
    x = (spec.type === 'lstm' ? tf.layers.lstm(common) : tf.layers.gru(common)).apply(x) as tf.SymbolicTensor
    // Inter-layer dropout between recurrent layers, then dropout on the final hidden state (docs/domain.md#network-architectures).
    x = dropout(last ? 'dropout_final' : `dropout_${i}`).apply(x) as tf.SymbolicTensor
  }
  const output = tf.layers.dense({ units: spec.outputSize, kernelInitializer: glorot(), name: 'output' }).apply(x) as tf.SymbolicTensor
  return tf.model({ inputs: input, outputs: output, name: `ktrdr_${spec.type}` })
}

export function countParameters(model: tf.LayersModel): { total: number; trainable: number } {
  let total = 0
  let trainable = 0
  for (const w of model.weights) {
    const n = w.shape.reduce<number>((a, b) => a * (b ?? 1), 1)
    total += n
    if (w.trainable) trainable += n
  }
  return { total, trainable }
}
