import { KtrdrError } from '../../../trading/index.ts'
import { setDropoutStep } from '../../../trading/model/index.ts'
import type { SampleRows } from '../../../trading/model/index.ts'
import type { ModelSpec } from '../../../trading/model/index.ts'
import { tf, type NamedTensor } from '../../../trading/model/index.ts'
import type { LoopConfig } from './config.ts'
import { evaluateSplit, gatherTargets } from './evaluate.ts'
import { createLoss, inverseFrequencyWeights, type LossFn } from './_losses.ts'
import { createOptimizer, restoreOptimizerWeights, setLearningRate } from './_optimizer.ts'
import { epochOrder } from './_epoch-order.ts'
import { stepEarlyStopping, stepScheduler, type EarlyStopState, type ScheduleState } from './_schedule.ts'
import { createLoopSnapshots } from './_snapshots.ts'
import { trainStep } from './_step.ts'

/** Samples are identified by the row of their last feature row (the row that carries the label). */
export interface TrainingSet extends SampleRows {
  rows: number
  /** Per row: class index or regression target; NaN where the row has no label. */
  targets: Float32Array
  train: Int32Array
  validation: Int32Array
  test: Int32Array
  /** Per-row weights for weighted sampling (triple-barrier uniqueness); null = uniform shuffle. */
  sampleWeights?: Float64Array | null
}

export interface EpochRecord {
  epoch: number
  train_loss: number
  train_accuracy: number
  val_loss: number
  val_accuracy: number
  learning_rate: number
  duration: number
  timestamp: string
}

/** The JSON half of a checkpoint; tensors travel separately (see LoopSnapshot). */
export interface LoopState {
  /** Epochs fully done. */
  epoch: number
  /** Batches done inside epoch `epoch + 1` (mid-epoch cancel), with their running sums. */
  batch: number
  partial: { loss_sum: number; correct: number; seen: number }
  history: EpochRecord[]
  schedule: ScheduleState
  early: EarlyStopState
  best_val_loss: number | null
  best_epoch: number
  stopped_early: boolean
}

export type CheckpointReason = 'interval' | 'cancel' | 'failure'

export interface LoopSnapshot {
  state: LoopState
  weights: tf.Tensor[]
  optimizer: NamedTensor[]
  best: tf.Tensor[] | null
}

export interface LoopHooks {
  signal?: AbortSignal
  onBatch?(info: { epoch: number; epochs: number; batch: number; batches: number }): void
  onEpoch?(record: EpochRecord, state: LoopState): void
  /**
   * Called every `checkpoint_every` epochs, and before the loop throws: on cancel (mid-epoch
   * state) and on any other failure after at least one completed epoch (the state at the end of
   * the last completed epoch). A throw from a cancel/failure checkpoint is swallowed: the
   * original error is the one the caller must see.
   */
  checkpoint?(snapshot: LoopSnapshot, reason: CheckpointReason): Promise<void>
}

export interface LoopResult {
  state: LoopState
  classWeights: Float32Array | null
  loss: LossFn
  disposeLoss(): void
}

export function initialLoopState(config: LoopConfig): LoopState {
  return {
    epoch: 0,
    batch: 0,
    partial: { loss_sum: 0, correct: 0, seen: 0 },
    history: [],
    schedule: { lr: config.learning_rate, best: null, bad_epochs: 0 },
    early: { best: null, wait: 0 },
    best_val_loss: null,
    best_epoch: 0,
    stopped_early: false,
  }
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r))

/**
 * Custom training loop (tf.variableGrads + optimizer.applyGradients) so that class-weighted and
 * focal losses, global-norm clipping, decoupled weight decay, LR schedules, early stopping and
 * best-weights restore all apply (docs/domain.md#optimisation). Deterministic given the set, config, seed and backend:
 * epoch order and dropout masks are functions of (seed, epoch, batch), which also makes a resume
 * from a mid-epoch checkpoint continue exactly where the cancelled run stopped.
 */
export async function runTrainingLoop(
  model: tf.LayersModel,
  spec: ModelSpec,
  set: TrainingSet,
  config: LoopConfig,
  options: { seed: number; resume?: LoopSnapshot; hooks?: LoopHooks },
): Promise<LoopResult> {
  const hooks = options.hooks ?? {}
  const regression = spec.outputKind === 'regression'
  if (set.train.length === 0)
    throw new KtrdrError({
      code: 'DATA_INSUFFICIENT',
      message: 'The training split has no samples: widen the date range or use fewer warm-up bars',
    })
  if (set.validation.length === 0 || set.test.length === 0)
    throw new KtrdrError({
      code: 'DATA_INSUFFICIENT',
      message: `The validation (${set.validation.length}) or test (${set.test.length}) split is empty: widen the date range`,
    })
  const classWeights = regression ? null : inverseFrequencyWeights(gatherTargets(set.targets, set.train), spec.outputSize)
  const { loss, dispose: disposeLoss } = createLoss(config, spec.outputSize, classWeights)
  const optimizer = createOptimizer(config)
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const decayed = variables.filter((v) => v.rank >= 2)
  const X = tf.tensor2d(set.values, [set.rows, set.cols])
  const Y = tf.tensor1d(set.targets)
  const step = { model, optimizer, variables, decayed, X, Y, cols: set.cols, sequenceLength: spec.sequenceLength, loss, config, regression }
  const batchSize = config.batch_size
  const batches = Math.ceil(set.train.length / batchSize)
  let state = initialLoopState(config)
  let best: tf.Tensor[] | null = null
  let lastCheckpoint: number | null = null

  if (options.resume) {
    state = structuredClone(options.resume.state)
    model.setWeights(options.resume.weights)
    if (options.resume.optimizer.length > 0) await restoreOptimizerWeights(optimizer, options.resume.optimizer)
    best = options.resume.best ? options.resume.best.map((t) => tf.keep(t.clone())) : null
  }

  const snapshots = createLoopSnapshots(model, optimizer, () => ({ state, best }), hooks.checkpoint)
  let checkpointedOnCancel = false

  try {
    for (let epoch = state.epoch; epoch < config.epochs && !state.stopped_early; epoch++) {
      const started = performance.now()
      setLearningRate(optimizer, state.schedule.lr)
      const order = epochOrder(set.train, options.seed, epoch, set.sampleWeights)
      // Per-batch scalars stay on the device and are read once per epoch: no per-batch sync
      // (GPU) beyond the very first batch, and no extra kernels per batch (wasm).
      const batchLosses: tf.Scalar[] = []
      const batchHits: tf.Scalar[] = []
      const batchSizes: number[] = []
      const sums = async () => {
        let lossSum = state.partial.loss_sum
        let correct = state.partial.correct
        if (batchLosses.length) {
          const stacked = [tf.stack(batchLosses), tf.stack(batchHits)]
          const [l, c] = await Promise.all(stacked.map((t) => t.data()))
          tf.dispose(stacked)
          for (let i = 0; i < l.length; i++) {
            lossSum += l[i] * batchSizes[i]
            correct += c[i]
          }
        }
        return { lossSum, correct, seen: state.partial.seen + batchSizes.reduce((a, b) => a + b, 0) }
      }
      const disposeBatches = () => {
        tf.dispose([...batchLosses, ...batchHits])
        batchLosses.length = 0
        batchHits.length = 0
        batchSizes.length = 0
      }
      let lastYield = performance.now()
      for (let b = state.batch; b < batches; b++) {
        if (hooks.signal?.aborted) {
          const { lossSum, correct, seen } = await sums()
          disposeBatches()
          state.partial = { loss_sum: lossSum, correct, seen }
          state.batch = b
          if (hooks.checkpoint) {
            checkpointedOnCancel = true
            await snapshots.save('cancel').catch(() => {})
          }
          throw hooks.signal.reason ?? new KtrdrError({ code: 'CANCELLED', message: 'Training cancelled' })
        }
        const from = b * batchSize
        const idx = order.subarray(from, Math.min(order.length, from + batchSize))
        const { value, batchCorrect } = trainStep(step, idx, epoch * batches + b, state.schedule.lr)
        if (epoch === 0 && b === 0) {
          const first = (await value.data())[0]
          if (!Number.isFinite(first)) {
            tf.dispose([value, batchCorrect])
            throw new KtrdrError({
              code: 'NAN_LOSS',
              message: 'NaN loss detected on first batch: check the features for infinities and the learning rate',
            })
          }
        }
        batchLosses.push(value)
        batchHits.push(batchCorrect)
        batchSizes.push(idx.length)
        hooks.onBatch?.({ epoch: epoch + 1, epochs: config.epochs, batch: b + 1, batches })
        if (performance.now() - lastYield > 50) {
          await yieldToEventLoop()
          lastYield = performance.now()
        }
      }
      const { lossSum, correct, seen } = await sums()
      disposeBatches()
      const trainLoss = lossSum / seen
      const trainAcc = correct / seen
      if (!Number.isFinite(trainLoss))
        throw new KtrdrError({
          code: 'NAN_LOSS',
          message: `Training diverged: loss is ${trainLoss} in epoch ${epoch + 1}; lower the learning rate`,
        })
      const val = await evaluateSplit(model, spec, set, set.validation, loss, hooks.signal)
      const record: EpochRecord = {
        epoch: epoch + 1,
        train_loss: trainLoss,
        train_accuracy: trainAcc,
        val_loss: val.loss,
        val_accuracy: val.accuracy,
        learning_rate: state.schedule.lr,
        duration: (performance.now() - started) / 1000,
        timestamp: new Date().toISOString(),
      }
      state.history.push(record)
      state.epoch = epoch + 1
      state.batch = 0
      state.partial = { loss_sum: 0, correct: 0, seen: 0 }
      if (state.best_val_loss === null || val.loss < state.best_val_loss) {
        state.best_val_loss = val.loss
        state.best_epoch = epoch + 1
        if (best) tf.dispose(best)
        best = model.getWeights().map((w) => tf.keep(w.clone()))
      }
      state.schedule = stepScheduler(config.lr_scheduler, state.schedule, config.learning_rate, epoch + 1, val.loss)
      const es = stepEarlyStopping(config.early_stopping, state.early, record)
      state.early = es.state
      state.stopped_early = es.stop
      await snapshots.keepLastGood()
      hooks.onEpoch?.(record, state)
      const due =
        state.epoch % config.checkpoint_every === 0 ||
        (lastCheckpoint !== null && performance.now() - lastCheckpoint > config.checkpoint_seconds * 1000)
      if (hooks.checkpoint && due && state.epoch < config.epochs && !es.stop) {
        await snapshots.save('interval')
        lastCheckpoint = performance.now()
      }
    }
    // Best-validation weights win (docs/domain.md#optimisation), also after early stopping.
    if (best) model.setWeights(best)
    return { state, classWeights, loss, disposeLoss }
  } catch (error) {
    if (!checkpointedOnCancel) await snapshots.saveLastGood(hooks.signal?.aborted ? 'cancel' : 'failure').catch(() => {})
    disposeLoss()
    throw error
  } finally {
    snapshots.dispose()
    setDropoutStep(model, null)
    if (best) tf.dispose(best)
    tf.dispose([X, Y])
    optimizer.dispose()
  }
}
