import { dropoutSeeds } from '../../../../trading/model/index.ts'
import type { ModelSpec } from '../../../../trading/model/index.ts'
import { tf, type NamedTensor } from '../../../../trading/model/index.ts'
import type { LoopConfig } from '../config.ts'
import type { TrainingEngine } from '../_engine.ts'
import type { TrainingSet } from '../loop.ts'
import { createFusedAdam, fusedAdamStep, restoreFusedAdam, type FusedAdam } from './_adam.ts'
import { createFusedLoss } from './_loss.ts'
import { createMlpWorkspace, mlpBackward, mlpForward, type FusedMlpShape, type MlpWorkspace } from './_mlp.ts'

/** Rows per forward pass when evaluating a split. */
const EVAL_ROWS = 1024

/**
 * Trains the MLP of `model` with plain loops over typed arrays instead of tfjs kernels: on wasm a
 * step of the 6→64→32→3 net at batch 32 is 244 kernels, ~2 ms, against ~0.35 ms for these loops
 * (docs/decisions.md). Same network (the model's own initial weights and dropout
 * seeds), same masks, loss, clipping and AdamW as the tfjs engine; weights live here as float32
 * and go back into the tfjs model at the end, which is what is saved and served.
 */
export function createFusedEngine(
  model: tf.LayersModel,
  spec: ModelSpec,
  set: TrainingSet,
  config: LoopConfig,
  classWeights: Float32Array | null,
): TrainingEngine {
  const shape: FusedMlpShape = {
    sizes: [spec.inputSize, ...spec.hiddenLayers, spec.outputSize],
    activation: spec.activation,
    dropout: spec.dropout,
    dropoutSeeds: dropoutSeeds(model),
  }
  const L = shape.sizes.length - 1
  const variables = model.trainableWeights
  const shapes = variables.map((v) => v.shape as number[])
  const expected = shape.sizes.slice(1).flatMap((o, l) => [[shape.sizes[l], o], [o]])
  if (
    JSON.stringify(shapes) !== JSON.stringify(expected) ||
    model.weights.length !== variables.length ||
    (spec.dropout > 0 && shape.dropoutSeeds.length !== L - 1)
  ) {
    throw new Error(`The fused trainer expects buildModel's MLP layout ${JSON.stringify(expected)}, got ${JSON.stringify(shapes)}`)
  }
  const slotNames = variables.map((v) => (v.read() as tf.Variable).name)
  const decay = shapes.map((s) => s.length >= 2)
  const read = (tensors: tf.Tensor[]) => tensors.map((t) => Float32Array.from(t.dataSync()))
  let params = read(model.getWeights())
  let opt: FusedAdam = createFusedAdam(params)
  let best: Float32Array[] | null = null
  const grads = params.map((p) => new Float64Array(p.length))
  const train = createMlpWorkspace(shape, config.batch_size, true)
  const evalWs = createMlpWorkspace(shape, EVAL_ROWS, false)
  const targets = new Float64Array(Math.max(config.batch_size, EVAL_ROWS))
  const loss = createFusedLoss(config, spec.outputSize, classWeights)
  const clip = config.gradient_clip
  let last = Number.NaN
  let pendingLoss = 0
  let pendingHits = 0

  const gather = (ws: MlpWorkspace, rows: ArrayLike<number>, from: number, to: number) => {
    const { values, cols } = set
    const x = ws.acts[0]
    for (let i = from; i < to; i++) {
      const r = rows[i]
      const src = r * cols
      const dst = (i - from) * cols
      for (let c = 0; c < cols; c++) x[dst + c] = values[src + c]
      targets[i - from] = set.targets[r]
    }
  }
  const toTensors = (arrays: Float32Array[]) => arrays.map((a, i) => tf.tensor(a, shapes[i], 'float32'))

  return {
    path: 'fused',
    step(idx, dropoutStep, lr) {
      const n = idx.length
      gather(train, idx, 0, n)
      mlpForward(shape, params, train, n, dropoutStep)
      const r = loss(train.acts[L], targets, n, train.deltas[L])
      mlpBackward(shape, params, train, n, grads)
      let scale = 1
      if (clip > 0) {
        let sq = 0
        for (const g of grads) for (let j = 0; j < g.length; j++) sq += g[j] * g[j]
        scale = clip / Math.max(Math.sqrt(sq), clip)
      }
      fusedAdamStep(opt, params, grads, scale, lr, decay, config.weight_decay)
      last = r.loss
      pendingLoss += r.loss * n
      pendingHits += r.correct
    },
    lastLoss: async () => last,
    async drain() {
      const out = { lossSum: pendingLoss, correct: pendingHits }
      pendingLoss = 0
      pendingHits = 0
      return out
    },
    async evaluate(samples, signal) {
      let sum = 0
      let weight = 0
      let correct = 0
      for (let from = 0; from < samples.length; from += EVAL_ROWS) {
        signal?.throwIfAborted()
        const to = Math.min(samples.length, from + EVAL_ROWS)
        gather(evalWs, samples, from, to)
        mlpForward(shape, params, evalWs, to - from, null)
        const r = loss(evalWs.acts[L], targets, to - from, null)
        sum += r.sum
        weight += r.weight
        correct += r.correct
      }
      return { loss: sum / Math.max(weight, 1e-12), accuracy: samples.length ? correct / samples.length : 0 }
    },
    keepBest() {
      best = params.map((p) => p.slice())
    },
    captureBest() {
      const tensors = best ? toTensors(best) : null
      return {
        best: tensors,
        release: () => {
          if (tensors) tf.dispose(tensors)
        },
      }
    },
    async capture(withOptimizer) {
      const weights = toTensors(params)
      // tfjs Adam's getWeights() layout: iter, then every first moment, then every second moment.
      const optimizer: NamedTensor[] = withOptimizer
        ? [
            { name: 'iter', tensor: tf.scalar(opt.iterations, 'int32') },
            ...toTensors(opt.m).map((tensor, i) => ({ name: `${slotNames[i]}/m`, tensor })),
            ...toTensors(opt.v).map((tensor, i) => ({ name: `${slotNames[i]}/v`, tensor })),
          ]
        : []
      return { weights, optimizer, release: () => tf.dispose([...weights, ...optimizer.map((n) => n.tensor)]) }
    },
    async restore(snapshot) {
      params = read(snapshot.weights)
      const slots = snapshot.optimizer
      if (slots.length > 0) {
        if (slots.length !== 1 + 2 * params.length)
          throw new Error(
            `The checkpoint's optimizer state has ${slots.length} entries; Adam over ${params.length} variables has ${1 + 2 * params.length}`,
          )
        const iterations = (await slots[0].tensor.data())[0]
        const moments = read(slots.slice(1).map((n) => n.tensor))
        opt = restoreFusedAdam(iterations, moments.slice(0, params.length), moments.slice(params.length))
      }
      best = snapshot.best ? read(snapshot.best) : null
    },
    finish() {
      const tensors = toTensors(best ?? params)
      model.setWeights(tensors)
      tf.dispose(tensors)
    },
    dispose() {},
  }
}
