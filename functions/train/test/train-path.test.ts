import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '../../../runtime/function/index.ts'
import { loadModel } from '../../../trading/model/index.ts'
import train from '../index.ts'
import { resolveTrainingPathOptions, selectTrainingPath } from '../src/path.ts'
import { trainInputSchema } from '../src/schema.ts'
import type { ClassificationMetrics } from '../src/metrics.ts'
import { createTempStorage, RANGE, REFERENCE_DIR, storePlantedSine, storeSynthetic } from './_fixtures.ts'
import type { KtrdrStorage } from '../../../storage/index.ts'

let env: Awaited<ReturnType<typeof createTempStorage>>
let storage: KtrdrStorage

beforeAll(async () => {
  env = await createTempStorage()
  storage = env.storage
  await storePlantedSine(storage, 'SINE', 2400)
  await storeSynthetic(storage, 'EURUSD', '1h', 1500)
})
afterAll(async () => {
  await env.cleanup()
})

const planted = `
name: planted_sine_paths
indicators:
  rsi_14: { type: rsi, period: 14 }
  roc_5: { type: roc, period: 5 }
fuzzy_sets:
  rsi_zone: { indicator: rsi_14, low: [0, 30, 50], mid: [30, 50, 70], high: [50, 70, 100] }
  roc_dir: { indicator: roc_5, down: [-2, -0.5, 0], up: [0, 0.5, 2] }
nn_inputs:
  - { fuzzy_set: rsi_zone, timeframes: all }
  - { fuzzy_set: roc_dir, timeframes: all }
model:
  type: mlp
  architecture: { hidden_layers: [64, 32], dropout: 0.2 }
decisions: { output_format: classification }
training:
  labels: { source: zigzag, zigzag_threshold: 0.02 }
  epochs: 8
  batch_size: 32
  learning_rate: 0.003
  gradient_clip: 1.0
training_data:
  symbols: { mode: single, symbol: SINE }
  timeframes: { mode: single, timeframe: 1h }
`

describe('train function: training path', () => {
  it('trains MLPs through the fused trainer on a CPU backend, with the test metrics of the tfjs path', async () => {
    const fused = await runFunctionInProcess(train, { strategy_yaml: planted, ...RANGE, seed: 2 }, { storage })
    const tfjs = await runFunctionInProcess(train, { strategy_yaml: planted, ...RANGE, seed: 2, training_path: 'tfjs' }, { storage })
    expect(fused.result.backend).toMatch(/wasm|cpu/)
    expect(fused.result.training_path).toBe('fused')
    expect(fused.result.resource_usage.training_path).toBe('fused')
    expect(tfjs.result.training_path).toBe('tfjs')
    const [mf, mt] = [fused.result.test_metrics as ClassificationMetrics, tfjs.result.test_metrics as ClassificationMetrics]
    expect(mf.test_accuracy).toBeGreaterThan(mf.majority_baseline + 0.2)
    // Same network, masks and updates to ~1e-7 per step: the metrics agree well inside run-to-run noise.
    expect(Math.abs(mf.test_accuracy - mt.test_accuracy)).toBeLessThanOrEqual(0.01)
    expect(Math.abs(mf.test_loss - mt.test_loss)).toBeLessThan(1e-3)
    expect(fused.result.training_metrics.best_epoch).toBe(tfjs.result.training_metrics.best_epoch)
    const saved = await loadModel(storage, fused.result.model_path)
    expect(saved.metadata.training.training_path).toBe('fused')
    saved.model.dispose()
  })

  it('keeps LSTM/GRU on tfjs kernels, and refuses a forced fused path for them with a 422', async () => {
    const yaml = readFileSync(join(REFERENCE_DIR, 'v3_minimal.yaml'), 'utf8').replace(
      /model:\n(?: {2}.*\n)+/,
      'model:\n  type: gru\n  architecture: { sequence_length: 4, hidden_size: 8, num_layers: 1 }\n',
    )
    expect(yaml).toMatch(/type: gru/)
    const { result } = await runFunctionInProcess(train, { strategy_yaml: yaml, ...RANGE, epochs: 1 }, { storage })
    expect(result.training_path).toBe('tfjs')
    await expect(
      runFunctionInProcess(train, { strategy_yaml: yaml, ...RANGE, epochs: 1, training_path: 'fused' }, { storage }),
    ).rejects.toMatchObject({ statusCode: 422, code: 'TRAINING_PATH_UNSUPPORTED', message: expect.stringMatching(/MLPs, not gru/) })
  })

  it('rejects an unknown training_path in the input, and an unknown KTRDR_TRAIN_PATH', () => {
    expect(trainInputSchema.safeParse({ strategy_name: 'x', training_path: 'gpu' }).success).toBe(false)
    expect(() => resolveTrainingPathOptions('auto', { KTRDR_TRAIN_PATH: 'fast' })).toThrow(/KTRDR_TRAIN_PATH="fast".*auto, fused or tfjs/)
    expect(resolveTrainingPathOptions('auto', { KTRDR_TRAIN_PATH: 'tfjs' })).toBe('tfjs')
    expect(resolveTrainingPathOptions('fused', { KTRDR_TRAIN_PATH: 'tfjs' })).toBe('fused')
  })

  it('auto picks tfjs kernels on GPU and native backends, fused on wasm/cpu for MLPs with Adam', () => {
    const mlp = { type: 'mlp' as const, sequenceLength: 1 }
    const adam = { optimizer: 'adam' as const }
    expect(selectTrainingPath('auto', { backend: 'tensorflow', gpu: true }, mlp, adam).path).toBe('tfjs')
    expect(selectTrainingPath('auto', { backend: 'tensorflow', gpu: false }, mlp, adam).path).toBe('tfjs')
    expect(selectTrainingPath('auto', { backend: 'wasm', gpu: false }, mlp, adam).path).toBe('fused')
    expect(selectTrainingPath('auto', { backend: 'cpu', gpu: false }, mlp, adam).path).toBe('fused')
    expect(selectTrainingPath('auto', { backend: 'wasm', gpu: false }, mlp, { optimizer: 'rmsprop' }).path).toBe('tfjs')
    expect(selectTrainingPath('fused', { backend: 'tensorflow', gpu: true }, mlp, adam).path).toBe('fused')
  })
})
