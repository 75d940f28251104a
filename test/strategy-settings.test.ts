// What a strategy says is what train does: model.training drives the loop unless the input
// overrides it (and the log says which won), and one name, the file name, names the strategy from
// the mount to the model folder and back to the backtest's model lookup.
import { createConsola, type LogObject } from 'consola'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '../runtime/function/index.ts'
import { generateSyntheticSeries, resolveModelRef, saveBars } from '../trading/index.ts'
import train from '../functions/train/index.ts'
import { tempStorage, type TempStorage } from './kit/index.ts'

let temp: TempStorage

beforeAll(async () => {
  temp = await tempStorage('ktrdr-settings-')
  await saveBars(temp.storage.data, generateSyntheticSeries({ symbol: 'EURUSD', timeframe: '1h', bars: 900, seed: 5, start: '2020-01-01' }))
})
afterAll(async () => {
  await temp.cleanup()
})

const strategy = (modelTraining: string, name = 'settings_probe') => `
name: ${name}
training_data:
  symbols: { mode: single, symbol: EURUSD }
  timeframes: { mode: single, timeframe: 1h }
indicators:
  rsi_14: { type: rsi, period: 14 }
fuzzy_sets:
  rsi_zone:
    indicator: rsi_14
    low: [0, 30, 50]
    high: [50, 70, 100]
nn_inputs:
  - fuzzy_set: rsi_zone
    timeframes: all
model:
  type: mlp
  architecture: { hidden_layers: [8] }
${modelTraining}
decisions: { output_format: classification }
training:
  labels: { source: zigzag, zigzag_threshold: 0.01 }
`

function capture() {
  const lines: string[] = []
  const logger = createConsola({ level: 5, reporters: [{ log: (l: LogObject) => void lines.push(l.args.map(String).join(' ')) }] })
  return { logger, lines }
}

describe('train runs with the strategy’s model.training', () => {
  it('epochs: 3 under model.training trains 3 epochs when the input gives none, and says so', async () => {
    const { logger, lines } = capture()
    const yaml = strategy('  training: { epochs: 3, batch_size: 64 }')
    const { result } = await runFunctionInProcess(train, { strategy_yaml: yaml }, { storage: temp.storage, logger })
    expect(result.epochs_trained).toBe(3)
    expect(result.training_metrics.epochs_requested).toBe(3)
    expect(lines.find((l) => l.startsWith('Training settings:'))).toMatch(
      /^Training settings: epochs 3 \(strategy model\.training\), batch_size 64 \(strategy model\.training\), learning_rate 0\.001 \(default\),.* early_stopping off \(default\)/,
    )
    const meta = await temp.storage.models.getItem<{ training: Record<string, unknown> }>(`${result.model_key}/metadata.json`)
    expect(meta?.training).toMatchObject({
      epochs: 3,
      batch_size: 64,
      settings_from: { epochs: 'model.training', batch_size: 'model.training' },
    })
  }, 120_000)

  it('the input wins over the strategy, and early stopping from model.training applies', async () => {
    const { logger, lines } = capture()
    // min_delta so large that no epoch improves: patience 1 stops after the second epoch.
    const yaml = strategy('  training: { epochs: 8, early_stopping: { patience: 1, min_delta: 1000 } }')
    const { result } = await runFunctionInProcess(train, { strategy_yaml: yaml, epochs: 6 }, { storage: temp.storage, logger })
    expect(result.early_stopped).toBe(true)
    expect(result.epochs_trained).toBe(2)
    expect(result.training_metrics.epochs_requested).toBe(6)
    expect(lines.find((l) => l.startsWith('Training settings:'))).toMatch(
      /epochs 6 \(input\), .*early_stopping patience 1 min_delta 1000 on val_loss \(strategy model\.training\)/,
    )
  }, 120_000)
})

describe('one name per strategy', () => {
  it('a strategy read by name trains into the folder of its file name, where the backtest looks for it', async () => {
    // Placed in the mount without the upload's rewrite: the YAML still says another name.
    await temp.storage.strategies.setItemRaw('by_file.yaml', Buffer.from(strategy('  training: { epochs: 1 }', 'by_yaml')))
    const { logger, lines } = capture()
    const { result } = await runFunctionInProcess(train, { strategy_name: 'by_file' }, { storage: temp.storage, logger })
    expect(result.model_key).toMatch(/^by_file\/1h_v\d+$/)
    expect(result.session_info.strategy_name).toBe('by_file')
    expect(lines).toContainEqual(expect.stringMatching(/Strategy by_file: its YAML says name: "by_yaml"; the file name is its name/))
    expect(await temp.storage.models.getKeys('by_yaml')).toEqual([])
    const meta = await temp.storage.models.getItem<{ strategy_name: string }>(`${result.model_key}/metadata.json`)
    expect(meta?.strategy_name).toBe('by_file')
    expect(await resolveModelRef(temp.storage.strategies, { strategy_name: 'by_file' })).toBe('by_file/1h_latest')
  }, 120_000)
})
