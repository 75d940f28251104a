import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '../../../runtime/function/index.ts'
import { buildFeatureMatrix } from '../../../trading/index.ts'
import { buildLabels } from '../../../trading/index.ts'
import { predictProbabilities } from '../../../trading/model/index.ts'
import { loadModel } from '../../../trading/model/index.ts'
import { loadStrategyBars } from '../../../trading/index.ts'
import { resolveStrategy, validateStrategy } from '../../../trading/index.ts'
import train from '../index.ts'
import { prepareTrainingSet } from '../src/dataset.ts'
import type { TrainingResult } from '../src/result.ts'
import { createTempStorage, RANGE, REFERENCE_DIR, storePlantedSine, storeSynthetic } from './_fixtures.ts'
import type { KtrdrStorage } from '../../../storage/index.ts'

let env: Awaited<ReturnType<typeof createTempStorage>>
let storage: KtrdrStorage

beforeAll(async () => {
  env = await createTempStorage()
  storage = env.storage
  await storeSynthetic(storage, 'EURUSD', '1h', 1600)
  await storeSynthetic(storage, 'EURUSD', '5m', 1600 * 12)
  await storeSynthetic(storage, 'GBPUSD', '1h', 1200, 11)
  await storePlantedSine(storage, 'SINE', 2400)
})
afterAll(async () => {
  await env.cleanup()
})

/** Recomputes the test split from the stored model alone and checks it scores what training reported. */
async function expectReloadedModelMatches(result: TrainingResult, symbol: string) {
  const loaded = await loadModel(storage, result.model_path)
  const strategy = resolveStrategy(loaded.metadata.strategy_yaml.replace(/symbol: \w+/, `symbol: ${symbol}`))
  const byTf = await loadStrategyBars(
    storage.data,
    { training_data: { timeframes: loaded.metadata.training_timeframes } },
    { symbol, start: RANGE.start_date, end: RANGE.end_date },
  )
  const matrix = buildFeatureMatrix(strategy, byTf)
  const labels = buildLabels(strategy.training.labels, byTf.get(loaded.metadata.base_timeframe)!)
  const { set } = prepareTrainingSet([{ symbol, matrix: buildFeatureMatrix(strategy, byTf), labels }], {
    split: strategy.training.data_split,
    sequenceLength: loaded.spec.sequenceLength,
    embargoPct: strategy.training.labels.source === 'triple_barrier' ? strategy.training.labels.embargo_pct : 0,
  })
  const preds = await predictProbabilities(loaded, matrix)
  const C = preds.outputs
  let hits = 0
  for (const r of set.test) {
    const p = preds.values.subarray(r * C, (r + 1) * C)
    expect(Number.isFinite(p[0])).toBe(true)
    if (C === 1) hits += Math.sign(p[0]) === Math.sign(set.targets[r]) ? 1 : 0
    else {
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
      let best = 0
      for (let c = 1; c < C; c++) if (p[c] > p[best]) best = c
      hits += best === set.targets[r] ? 1 : 0
    }
  }
  expect(hits / set.test.length).toBe(result.test_metrics.test_accuracy)
  loaded.model.dispose()
}

describe('train function: reference strategies', () => {
  const files = readdirSync(REFERENCE_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
  for (const file of files) {
    const yaml = readFileSync(join(REFERENCE_DIR, file), 'utf8')
    it(`${file} trains for 2 epochs, and the saved model reloads and scores the same`, async () => {
      // Every reference strategy must keep validating: a regression here fails, it does not skip.
      const validation = validateStrategy(yaml)
      expect(validation.errors, file).toEqual([])
      expect(validation.valid, file).toBe(true)
      const { result, progress } = await runFunctionInProcess(train, { strategy_yaml: yaml, ...RANGE, epochs: 2 }, { storage })
      expect(result.epochs_trained).toBe(2)
      expect(result.model_path).toMatch(/^models\/[\w.-]+\/\w+_v\d+$/)
      expect(result.training_metrics.history.train_loss).toHaveLength(2)
      expect(result.feature_count).toBeGreaterThan(0)
      expect(result.backend).toMatch(/wasm|cpu|tensorflow/)
      expect(progress.some((p) => p.current_step === 'Epoch 2/2' && typeof p.context?.val_loss === 'number')).toBe(true)
      expect(progress.at(-1)?.percentage).toBe(100)
      const metrics = await storage.models.getItem<{ history: unknown[] }>(`${result.model_key}/metrics.json`)
      expect(metrics?.history).toHaveLength(2)
      await expectReloadedModelMatches(result, 'EURUSD')
    })
  }
})

describe('train function: learning and failures', () => {
  const planted = `
name: planted_sine
indicators:
  rsi_14: { type: rsi, period: 14 }
  roc_5: { type: roc, period: 5 }
fuzzy_sets:
  rsi_zone:
    indicator: rsi_14
    low: [0, 30, 50]
    mid: [30, 50, 70]
    high: [50, 70, 100]
  roc_dir:
    indicator: roc_5
    down: [-2, -0.5, 0]
    up: [0, 0.5, 2]
nn_inputs:
  - fuzzy_set: rsi_zone
    timeframes: all
  - fuzzy_set: roc_dir
    timeframes: all
model:
  type: mlp
  architecture: { hidden_layers: [32, 16], dropout: 0.1 }
decisions: { output_format: classification }
training:
  labels: { source: zigzag, zigzag_threshold: 0.02 }
  epochs: 12
  batch_size: 64
  learning_rate: 0.005
training_data:
  symbols: { mode: single, symbol: SINE }
  timeframes: { mode: single, timeframe: 1h }
`
  it('beats the majority-class baseline clearly on a planted relationship', async () => {
    const { result } = await runFunctionInProcess(train, { strategy_yaml: planted, ...RANGE, seed: 1 }, { storage })
    const m = result.test_metrics as { test_accuracy: number; majority_baseline: number; confusion_matrix: number[][] }
    expect(m.confusion_matrix.flat().reduce((a, b) => a + b, 0)).toBe(result.data_summary.test_samples)
    expect(m.test_accuracy).toBeGreaterThan(m.majority_baseline + 0.2)
  })

  it('computes labels per symbol and stacks symbols for multi-symbol training', async () => {
    const yaml = readFileSync(join(REFERENCE_DIR, 'v3_minimal.yaml'), 'utf8')
    const { result } = await runFunctionInProcess(
      train,
      { strategy_yaml: yaml, symbols: ['EURUSD', 'GBPUSD'], ...RANGE, epochs: 1 },
      { storage },
    )
    expect(result.data_summary.symbols).toEqual(['EURUSD', 'GBPUSD'])
    expect(result.data_summary.per_symbol.map((p) => p.symbol)).toEqual(['EURUSD', 'GBPUSD'])
    for (const p of result.data_summary.per_symbol) expect(p.test).toBeGreaterThan(0)
  })

  it('fails clearly on an invalid strategy, a missing strategy and missing data', async () => {
    await expect(runFunctionInProcess(train, { strategy_yaml: 'name: x\nindicators: []\n' }, { storage })).rejects.toMatchObject({
      code: 'STRATEGY_INVALID',
      retryable: false,
    })
    await expect(runFunctionInProcess(train, { strategy_name: 'nope' }, { storage })).rejects.toMatchObject({ code: 'STRATEGY_NOT_FOUND' })
    const yaml = readFileSync(join(REFERENCE_DIR, 'v3_minimal.yaml'), 'utf8')
    await expect(runFunctionInProcess(train, { strategy_yaml: yaml, symbols: ['USDJPY'], epochs: 1 }, { storage })).rejects.toMatchObject({
      code: 'DATA_NOT_FOUND',
      retryable: false,
    })
    await expect(runFunctionInProcess(train, { strategy_yaml: yaml, strategy_name: 'v3_minimal' }, { storage })).rejects.toThrow(
      /exactly one/,
    )
  })

  it('fails with MULTI_TF_INSUFFICIENT_COVERAGE when the timeframes barely overlap (docs/domain.md#multi-timeframe-alignment)', async () => {
    await storeSynthetic(storage, 'AUDUSD', '1h', 1600)
    await storeSynthetic(storage, 'AUDUSD', '5m', 3 * 24 * 12)
    const yaml = readFileSync(join(REFERENCE_DIR, 'squad_cycle1_control.yaml'), 'utf8')
    const failed = runFunctionInProcess(train, { strategy_yaml: yaml, symbols: ['AUDUSD'], ...RANGE, epochs: 1 }, { storage })
    await expect(failed).rejects.toMatchObject({ statusCode: 422, code: 'MULTI_TF_INSUFFICIENT_COVERAGE', retryable: false })
    await expect(failed).rejects.toThrow(
      /AUDUSD.*1h 2020-01-01T00:00:00Z → [^;]*\(1600 bars\); 5m 2020-01-01T00:00:00Z → [^;]*\(864 bars\)/,
    )
  })

  it('reads a strategy by name from the strategies store', async () => {
    await storage.strategies.setItem('v3_minimal.yaml', readFileSync(join(REFERENCE_DIR, 'v3_minimal.yaml'), 'utf8'))
    const { result } = await runFunctionInProcess(train, { strategy_name: 'v3_minimal', ...RANGE, epochs: 1 }, { storage })
    expect(result.session_info.strategy_name).toBe('v3_minimal')
  })
})
