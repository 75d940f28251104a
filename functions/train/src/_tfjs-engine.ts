import { setDropoutStep } from '../../../trading/model/index.ts'
import type { ModelSpec } from '../../../trading/model/index.ts'
import { tf } from '../../../trading/model/index.ts'
import type { LoopConfig } from './config.ts'
import type { TrainingEngine } from './_engine.ts'
import { evaluateSplit } from './evaluate.ts'
import type { TrainingSet } from './loop.ts'
import type { LossFn } from './_losses.ts'
import { createOptimizer, releaseOptimizerWeights, restoreOptimizerWeights, setLearningRate } from './_optimizer.ts'
import { trainStep } from './_step.ts'

/**
 * Steps through tfjs kernels (tf.variableGrads + optimizer.applyGradients): the path for GPU
 * backends and recurrent networks, and the reference the fused trainer is tested against.
 */
export function createTfjsEngine(
  model: tf.LayersModel,
  spec: ModelSpec,
  set: TrainingSet,
  config: LoopConfig,
  loss: LossFn,
): TrainingEngine {
  const optimizer = createOptimizer(config)
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const decayed = variables.filter((v) => v.rank >= 2)
  const X = tf.tensor2d(set.values, [set.rows, set.cols])
  const Y = tf.tensor1d(set.targets)
  const ctx = {
    model,
    optimizer,
    variables,
    decayed,
    X,
    Y,
    cols: set.cols,
    sequenceLength: spec.sequenceLength,
    loss,
    config,
    regression: spec.outputKind === 'regression',
  }
  let lr: number | null = null
  let best: tf.Tensor[] | null = null
  // Per-batch scalars stay on the device and are read once per epoch: no per-batch sync (GPU)
  // beyond the very first batch, and no extra kernels per batch (wasm).
  const losses: tf.Scalar[] = []
  const hits: tf.Scalar[] = []
  const sizes: number[] = []
  const disposePending = () => {
    tf.dispose([...losses, ...hits])
    losses.length = 0
    hits.length = 0
    sizes.length = 0
  }

  return {
    path: 'tfjs',
    step(idx, dropoutStep, stepLr) {
      if (stepLr !== lr) {
        setLearningRate(optimizer, stepLr)
        lr = stepLr
      }
      const { value, batchCorrect } = trainStep(ctx, idx, dropoutStep, stepLr)
      losses.push(value)
      hits.push(batchCorrect)
      sizes.push(idx.length)
    },
    async lastLoss() {
      return (await losses[losses.length - 1].data())[0]
    },
    async drain() {
      let lossSum = 0
      let correct = 0
      if (losses.length) {
        const stacked = [tf.stack(losses), tf.stack(hits)]
        const [l, c] = await Promise.all(stacked.map((t) => t.data()))
        tf.dispose(stacked)
        for (let i = 0; i < l.length; i++) {
          lossSum += l[i] * sizes[i]
          correct += c[i]
        }
      }
      disposePending()
      return { lossSum, correct }
    },
    async evaluate(samples, signal) {
      const { loss: l, accuracy } = await evaluateSplit(model, spec, set, samples, loss, signal)
      return { loss: l, accuracy }
    },
    keepBest() {
      if (best) tf.dispose(best)
      best = model.getWeights().map((w) => tf.keep(w.clone()))
    },
    captureBest: () => ({ best, release() {} }),
    async capture(withOptimizer) {
      // getWeights() hands out the live variables; optimizer.getWeights() adds a fresh `iter` scalar.
      const optimizerWeights = withOptimizer ? await optimizer.getWeights() : []
      return { weights: model.getWeights(), optimizer: optimizerWeights, release: () => releaseOptimizerWeights(optimizerWeights) }
    },
    async restore(snapshot) {
      model.setWeights(snapshot.weights)
      if (snapshot.optimizer.length > 0) await restoreOptimizerWeights(optimizer, snapshot.optimizer)
      if (best) tf.dispose(best)
      best = snapshot.best ? snapshot.best.map((t) => tf.keep(t.clone())) : null
    },
    finish() {
      if (best) model.setWeights(best)
    },
    dispose() {
      disposePending()
      setDropoutStep(model, null)
      if (best) tf.dispose(best)
      best = null
      tf.dispose([X, Y])
      optimizer.dispose()
    },
  }
}
