import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '../../../runtime/function/index.ts'
import { claimModelVersion } from '../../../trading/model/index.ts'
import { loadModel } from '../../../trading/model/index.ts'
import train from '../index.ts'
import { readCheckpointManifest } from '../src/checkpoint.ts'
import { createTempStorage, RANGE, REFERENCE_DIR, storeSynthetic } from './_fixtures.ts'
import type { KtrdrStorage } from '../../../storage/index.ts'

let env: Awaited<ReturnType<typeof createTempStorage>>
let storage: KtrdrStorage
const yaml = readFileSync(join(REFERENCE_DIR, 'v3_multi_indicator.yaml'), 'utf8')
const input = { strategy_yaml: yaml, ...RANGE, epochs: 4, checkpoint_every: 1, seed: 9 }

beforeAll(async () => {
  env = await createTempStorage()
  storage = env.storage
  await storeSynthetic(storage, 'EURUSD', '1h', 1500)
})
afterAll(async () => {
  await env.cleanup()
})

describe('train function: checkpoints, resume, versions', () => {
  it('cancelled mid-epoch, checkpoints, and a new attempt resumes to the same model as an uninterrupted run', async () => {
    const operationId = 'op_training_resume_test'
    const controller = new AbortController()
    const cancelled = runFunctionInProcess(train, input, {
      storage,
      operationId,
      signal: controller.signal,
      onProgress(p) {
        if (p.current_step === 'Epoch 3/4' && Number(p.context?.batch) === 2) controller.abort(new Error('cancelled by test'))
      },
    })
    await expect(cancelled).rejects.toThrow('cancelled by test')
    const manifest = await readCheckpointManifest(storage.checkpoints, operationId)
    expect(manifest?.reason).toBe('cancel')
    expect(manifest?.state.epoch).toBe(2)
    expect(manifest?.state.batch).toBe(2)

    const resumed = await runFunctionInProcess(train, input, { storage, operationId, attempt: 2 })
    expect(resumed.result.resumed_from).toEqual({ epoch: 2, batch: 2 })
    expect(resumed.progress.some((p) => p.current_step === 'Epoch 1/4')).toBe(false)
    expect(await readCheckpointManifest(storage.checkpoints, operationId)).toBeNull()

    const straight = await runFunctionInProcess(train, input, { storage, operationId: 'op_training_straight' })
    expect(resumed.result.training_metrics.history).toEqual(straight.result.training_metrics.history)
    expect(resumed.result.test_metrics).toEqual(straight.result.test_metrics)
    const [a, b] = await Promise.all([loadModel(storage, resumed.result.model_path), loadModel(storage, straight.result.model_path)])
    const wa = a.model.getWeights().map((w) => Array.from(w.dataSync()))
    const wb = b.model.getWeights().map((w) => Array.from(w.dataSync()))
    expect(wa).toEqual(wb)
    a.model.dispose()
    b.model.dispose()
  })

  it('fails after completed epochs with a failure checkpoint, and the next attempt (what resume produces) ends with the uninterrupted model', async () => {
    const operationId = 'op_training_failure_test'
    const failing = { ...input, checkpoint_every: 10 } // no interval checkpoint within 4 epochs
    const failed = runFunctionInProcess(train, failing, {
      storage,
      operationId,
      onProgress(p) {
        if (p.current_step === 'Epoch 3/4' && Number(p.context?.batch) === 2) throw new Error('disk on fire')
      },
    })
    await expect(failed).rejects.toMatchObject({ code: 'TRAINING_FAILED', message: 'Training failed: disk on fire' })
    const manifest = await readCheckpointManifest(storage.checkpoints, operationId)
    expect({ reason: manifest?.reason, epoch: manifest?.state.epoch, batch: manifest?.state.batch }).toEqual({
      reason: 'failure',
      epoch: 2,
      batch: 0,
    })

    const resumed = await runFunctionInProcess(train, failing, { storage, operationId, attempt: 2 })
    expect(resumed.result.resumed_from).toEqual({ epoch: 2, batch: 0 })
    expect(await readCheckpointManifest(storage.checkpoints, operationId)).toBeNull()
    const straight = await runFunctionInProcess(train, failing, { storage, operationId: 'op_training_failure_straight' })
    expect(resumed.result.training_metrics.history).toEqual(straight.result.training_metrics.history)
    expect(resumed.result.test_metrics).toEqual(straight.result.test_metrics)
  })

  it('gives concurrent trainings of one strategy distinct versions and moves latest to the newest', async () => {
    const runs = await Promise.all([1, 2].map((seed) => runFunctionInProcess(train, { ...input, epochs: 1, seed }, { storage })))
    const keys = runs.map((r) => r.result.model_key)
    expect(new Set(keys).size).toBe(2)
    const latest = await loadModel(storage, 'v3_multi_indicator_example/1h_latest')
    expect(latest.key).toBe(`v3_multi_indicator_example/1h_v${Math.max(...runs.map((r) => r.result.model_version))}`)
    latest.model.dispose()
    const abs = await loadModel(storage, join(env.root, 'models', keys[0]))
    expect(abs.key).toBe(keys[0])
    abs.model.dispose()
  })

  it('claims versions atomically under contention', async () => {
    const claims = await Promise.all(Array.from({ length: 12 }, () => claimModelVersion(storage, 'race', '1h')))
    expect(new Set(claims.map((c) => c.version)).size).toBe(12)
    await expect(loadModel(storage, `race/1h_v${claims[0].version}`)).rejects.toThrow(/metadata.json missing/)
    await expect(loadModel(storage, 'race/4h_latest')).rejects.toThrow(/No trained model yet/)
  })
})
