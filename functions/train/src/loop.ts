import { KtrdrError } from '../../../trading/index.ts'
import type { SampleRows } from '../../../trading/model/index.ts'
import type { ModelSpec } from '../../../trading/model/index.ts'
import type { tf, NamedTensor } from '../../../trading/model/index.ts'
import type { LoopConfig } from './config.ts'
import type { TrainingPath } from './_engine.ts'
import { gatherTargets } from './evaluate.ts'
import { createFusedEngine } from './fused/engine.ts'
import { fusedUnsupported } from './fused/support.ts'
import { createLoss, inverseFrequencyWeights, type LossFn } from './_losses.ts'
import { epochOrder } from './_epoch-order.ts'
import { stepEarlyStopping, stepScheduler, type EarlyStopState, type ScheduleState } from './_schedule.ts'
import { createLoopSnapshots } from './_snapshots.ts'
import { createTfjsEngine } from './_tfjs-engine.ts'

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
  /** The engine that trained. */
  path: TrainingPath
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

export interface LoopOptions {
  seed: number
  resume?: LoopSnapshot
  hooks?: LoopHooks
  /** tfjs kernels (default) or the fused CPU trainer (MLP + Adam only: see fused/support.ts). */
  path?: TrainingPath
}

/**
 * Custom training loop so that class-weighted and focal losses, global-norm clipping, decoupled
 * weight decay, LR schedules, early stopping and best-weights restore all apply
 * (docs/domain.md#optimisation), whichever engine steps: tfjs kernels or the fused CPU trainer.
 * Deterministic given the set, config, seed, path and backend: epoch order and dropout masks are
 * functions of (seed, epoch, batch), which also makes a resume from a mid-epoch checkpoint
 * continue exactly where the cancelled run stopped.
 */
export async function runTrainingLoop(
  model: tf.LayersModel,
  spec: ModelSpec,
  set: TrainingSet,
  config: LoopConfig,
  options: LoopOptions,
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
  const path = options.path ?? 'tfjs'
  const unsupported = path === 'fused' ? fusedUnsupported(spec, config) : null
  if (unsupported)
    throw new KtrdrError({
      code: 'TRAINING_PATH_UNSUPPORTED',
      message: `The fused trainer cannot train this strategy: ${unsupported}; use training_path "tfjs" or "auto"`,
    })
  const classWeights = regression ? null : inverseFrequencyWeights(gatherTargets(set.targets, set.train), spec.outputSize)
  const { loss, dispose: disposeLoss } = createLoss(config, spec.outputSize, classWeights)
  const engine =
    path === 'fused' ? createFusedEngine(model, spec, set, config, classWeights) : createTfjsEngine(model, spec, set, config, loss)
  const batchSize = config.batch_size
  const batches = Math.ceil(set.train.length / batchSize)
  let state = initialLoopState(config)
  let lastCheckpoint: number | null = null

  if (options.resume) {
    state = structuredClone(options.resume.state)
    await engine.restore(options.resume)
  }

  const snapshots = createLoopSnapshots(engine, () => state, hooks.checkpoint)
  let checkpointedOnCancel = false

  try {
    for (let epoch = state.epoch; epoch < config.epochs && !state.stopped_early; epoch++) {
      const started = performance.now()
      const order = epochOrder(set.train, options.seed, epoch, set.sampleWeights)
      let seen = state.partial.seen
      const sums = async () => {
        const { lossSum, correct } = await engine.drain()
        return { lossSum: state.partial.loss_sum + lossSum, correct: state.partial.correct + correct, seen }
      }
      let lastYield = performance.now()
      for (let b = state.batch; b < batches; b++) {
        if (hooks.signal?.aborted) {
          const { lossSum, correct } = await sums()
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
        engine.step(idx, epoch * batches + b, state.schedule.lr)
        seen += idx.length
        if (epoch === 0 && b === 0 && !Number.isFinite(await engine.lastLoss())) {
          throw new KtrdrError({
            code: 'NAN_LOSS',
            message: 'NaN loss detected on first batch: check the features for infinities and the learning rate',
          })
        }
        hooks.onBatch?.({ epoch: epoch + 1, epochs: config.epochs, batch: b + 1, batches })
        if (performance.now() - lastYield > 50) {
          await yieldToEventLoop()
          lastYield = performance.now()
        }
      }
      const { lossSum, correct } = await sums()
      const trainLoss = lossSum / seen
      const trainAcc = correct / seen
      if (!Number.isFinite(trainLoss))
        throw new KtrdrError({
          code: 'NAN_LOSS',
          message: `Training diverged: loss is ${trainLoss} in epoch ${epoch + 1}; lower the learning rate`,
        })
      const val = await engine.evaluate(set.validation, hooks.signal)
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
        engine.keepBest()
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
    engine.finish()
    return { state, classWeights, loss, disposeLoss, path }
  } catch (error) {
    if (!checkpointedOnCancel) await snapshots.saveLastGood(hooks.signal?.aborted ? 'cancel' : 'failure').catch(() => {})
    disposeLoss()
    throw error
  } finally {
    snapshots.dispose()
    engine.dispose()
  }
}
