import { beforeAll, describe, expect, it } from 'vitest'
import { useTfBackend } from '../../../trading/model/index.ts'
import { buildModel } from '../../../trading/model/index.ts'
import { resolveModelSpec } from '../../../trading/model/index.ts'
import { tf } from '../../../trading/model/index.ts'
import type { LoopConfig } from '../src/config.ts'
import { inverseFrequencyWeights } from '../src/_losses.ts'
import { createStorage } from 'unstorage'
import { loadCheckpoint, readCheckpointManifest, saveCheckpoint } from '../src/checkpoint.ts'
import { evaluateSplit } from '../src/evaluate.ts'
import { runTrainingLoop, type CheckpointReason, type LoopHooks } from '../src/loop.ts'
import { classificationMetrics } from '../src/metrics.ts'
import { loopConfig, plantedSet } from './_fixtures.ts'

const config = (over: Partial<LoopConfig> = {}): LoopConfig => loopConfig({}, over)

const spec = (seed = 1) =>
  resolveModelSpec(
    { type: 'mlp', architecture: { hidden_layers: [32, 16], dropout: 0.1 } },
    { inputSize: 8, outputSize: 3, outputKind: 'classification', seed },
  )

beforeAll(async () => {
  await useTfBackend()
})

describe('training loop', () => {
  it('learns a planted relationship well beyond the majority-class baseline', async () => {
    const set = plantedSet(3000, 7)
    const model = buildModel(spec())
    const { loss, disposeLoss } = await runTrainingLoop(model, spec(), set, config(), { seed: 1 })
    const test = await evaluateSplit(model, spec(), set, set.test, loss)
    const metrics = classificationMetrics(
      test.outputs,
      Array.from(set.test, (r) => set.targets[r]),
      3,
      test.loss,
    )
    disposeLoss()
    expect(metrics.test_accuracy).toBeGreaterThan(metrics.majority_baseline + 0.25)
    expect(metrics.test_accuracy).toBeGreaterThan(0.85)
  })

  it('is deterministic for the same data, seed and backend, and the seed matters', async () => {
    const set = plantedSet(1200, 3)
    const run = async (seed: number) => {
      const s = spec(seed)
      const model = buildModel(s)
      const { state, disposeLoss } = await runTrainingLoop(model, s, set, config({ epochs: 3 }), { seed })
      disposeLoss()
      const w = Array.from(await model.getWeights()[0].data())
      model.dispose()
      return { history: state.history.map((h) => [h.train_loss, h.val_loss]), w }
    }
    const a = await run(5)
    const b = await run(5)
    const c = await run(6)
    expect(b.history).toEqual(a.history)
    expect(b.w).toEqual(a.w)
    expect(c.w).not.toEqual(a.w)
  })

  it('stops early, steps the LR schedule and restores the best-validation weights', async () => {
    const set = plantedSet(1200, 11)
    const s = spec()
    const model = buildModel(s)
    const cfg = config({
      epochs: 40,
      learning_rate: 0.05,
      early_stopping: { patience: 2, min_delta: 0.5, monitor: 'val_loss' },
      lr_scheduler: { type: 'exponential', gamma: 0.5 },
    })
    const { state, loss, disposeLoss } = await runTrainingLoop(model, s, set, cfg, { seed: 2 })
    expect(state.stopped_early).toBe(true)
    expect(state.history.length).toBeLessThan(40)
    expect(state.history[1].learning_rate).toBeCloseTo(0.025)
    const restored = await evaluateSplit(model, s, set, set.validation, loss)
    disposeLoss()
    expect(restored.loss).toBeCloseTo(Math.min(...state.history.map((h) => h.val_loss)), 4)
  })

  it('fails clearly on a NaN loss in the first batch', async () => {
    const set = plantedSet(300, 1)
    set.values[set.train[0] * set.cols] = Number.NaN
    const model = buildModel(spec())
    await expect(runTrainingLoop(model, spec(), set, config({ batch_size: 512 }), { seed: 1 })).rejects.toThrow(
      /NaN loss detected on first batch/,
    )
  })

  it('weights classes by inverse frequency, rescaled to sum to the class count', () => {
    const w = inverseFrequencyWeights([0, 0, 0, 1, 2, 2], 3)
    expect(w[0] + w[1] + w[2]).toBeCloseTo(3)
    expect(w[1] / w[0]).toBeCloseTo(3)
    expect(w[2] / w[0]).toBeCloseTo(1.5)
    expect(Array.from(inverseFrequencyWeights([0, 0, 1], 3))).toEqual([1, 2, 0])
  })

  it('leaves no tensors behind', async () => {
    const before = tf.memory().numTensors
    const set = plantedSet(500, 4)
    const s = spec()
    const model = buildModel(s)
    const { disposeLoss } = await runTrainingLoop(model, s, set, config({ epochs: 2 }), { seed: 1 })
    disposeLoss()
    model.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('training loop: checkpoint on failure (docs/domain.md#training-checkpoints)', () => {
  const set = plantedSet(600, 5)
  const cfg = config({ epochs: 4, checkpoint_every: 100 })
  let modelRef: tf.LayersModel | null = null
  const run = async (
    operationId: string,
    store: ReturnType<typeof createStorage>,
    hooks: Omit<LoopHooks, 'checkpoint'>,
    resume?: Awaited<ReturnType<typeof loadCheckpoint>>,
  ) => {
    const model = buildModel(spec(2))
    modelRef = model
    const reasons: CheckpointReason[] = []
    try {
      const { state, disposeLoss } = await runTrainingLoop(model, spec(2), set, cfg, {
        seed: 4,
        resume,
        hooks: {
          ...hooks,
          async checkpoint(snapshot, reason) {
            reasons.push(reason)
            await saveCheckpoint(store, operationId, 'fp', snapshot, reason)
          },
        },
      })
      disposeLoss()
      return { state, weights: model.getWeights().map((w) => Array.from(w.dataSync())), reasons }
    } catch (error) {
      return { error: error as Error, reasons }
    } finally {
      model.dispose()
    }
  }

  it('a loss that diverges in a later epoch leaves a failure checkpoint of the last good epoch, and resuming it matches an uninterrupted run', async () => {
    const store = createStorage()
    const straight = await run('op_straight', store, {})
    expect(straight.error).toBeUndefined()

    // Poison the weights once epoch 2 is done: epoch 3's loss is NaN and the loop fails.
    const failed = await run('op_diverged', store, {
      onEpoch(record) {
        if (record.epoch !== 2) return
        const nan = modelRef!.getWeights().map((w) => tf.fill(w.shape, Number.NaN))
        modelRef!.setWeights(nan)
        tf.dispose(nan)
      },
    })
    expect(failed.error?.message).toMatch(/Training diverged: loss is NaN in epoch 3/)
    expect(failed.reasons).toEqual(['failure'])
    const manifest = await readCheckpointManifest(store, 'op_diverged')
    expect(manifest?.reason).toBe('failure')
    expect(manifest?.state.epoch).toBe(2)
    expect(manifest?.state.batch).toBe(0)
    expect(manifest?.state.history).toHaveLength(2)

    const snapshot = await loadCheckpoint(store, 'op_diverged', manifest!)
    for (const w of snapshot.weights) expect(Array.from(w.dataSync()).every(Number.isFinite)).toBe(true)
    const resumed = await run('op_diverged', store, {}, snapshot)
    tf.dispose([...snapshot.weights, ...snapshot.optimizer.map((n) => n.tensor), ...(snapshot.best ?? [])])
    expect(resumed.error).toBeUndefined()
    expect(resumed.state!.history.map(({ duration: _d, timestamp: _t, ...r }) => r)).toEqual(
      straight.state!.history.map(({ duration: _d, timestamp: _t, ...r }) => r),
    )
    expect(resumed.weights).toEqual(straight.weights)
  })

  it('an unexpected error mid-epoch saves the end of the last completed epoch; a failure before any completed epoch saves nothing', async () => {
    const store = createStorage()
    const late = await run('op_late', store, {
      onBatch({ epoch, batch }) {
        if (epoch === 3 && batch === 2) throw new Error('disk on fire')
      },
    })
    expect(late.error?.message).toBe('disk on fire')
    expect(late.reasons).toEqual(['failure'])
    const manifest = await readCheckpointManifest(store, 'op_late')
    expect({ reason: manifest?.reason, epoch: manifest?.state.epoch, batch: manifest?.state.batch }).toEqual({
      reason: 'failure',
      epoch: 2,
      batch: 0,
    })

    const early = await run('op_early', store, {
      onBatch({ epoch, batch }) {
        if (epoch === 1 && batch === 2) throw new Error('too early')
      },
    })
    expect(early.error?.message).toBe('too early')
    expect(early.reasons).toEqual([])
    expect(await readCheckpointManifest(store, 'op_early')).toBeNull()
  })

  it('a cancel mid-epoch keeps its mid-epoch checkpoint (not replaced by the last-epoch copy) and leaves no tensors behind', async () => {
    const store = createStorage()
    const before = tf.memory().numTensors
    const controller = new AbortController()
    const cancelled = await run('op_cancel', store, {
      signal: controller.signal,
      onBatch({ epoch, batch }) {
        if (epoch === 2 && batch === 3) controller.abort(new Error('Host shutting down'))
      },
    })
    expect(cancelled.error?.message).toBe('Host shutting down')
    expect(cancelled.reasons).toEqual(['cancel'])
    const manifest = await readCheckpointManifest(store, 'op_cancel')
    expect({ reason: manifest?.reason, epoch: manifest?.state.epoch, batch: manifest?.state.batch }).toEqual({
      reason: 'cancel',
      epoch: 1,
      batch: 3,
    })
    expect(tf.memory().numTensors).toBe(before)
  })
})
