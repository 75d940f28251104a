import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '../../../runtime/function/index.ts'
import type { KtrdrStorage } from '../../../storage/index.ts'
import { resolveLocalPath } from '../../../storage/index.ts'
import backtest from '../index.ts'
import { resolveEngineConfig } from '../src/config.ts'
import { runBacktest } from '../src/engine.ts'
import { METRIC_KEYS } from '../src/metrics.ts'
import { loadBacktestModel, prepareSymbol } from '../src/pipeline.ts'
import { createSignalCache } from '../src/sweep.ts'
import { resolveWindow } from '../src/window.ts'
import { tf } from '../../../trading/model/index.ts'
import { createTempStorage, referenceYaml, writeBars, writeModel } from './_fixtures.ts'

const H = 3_600_000
let storage: KtrdrStorage
let cleanup: () => Promise<void>
let modelKey: string
const N = 2000
const START = new Date(Date.UTC(2024, 0, 1) + 1200 * H).toISOString()

beforeAll(async () => {
  ;({ storage, cleanup } = await createTempStorage())
  await writeBars(storage, 'EURUSD', '1h', N, 3)
  await writeBars(storage, 'GBPUSD', '1h', N, 4)
  const m = await writeModel(storage, await referenceYaml('v3_multi_indicator.yaml'), { planted: true })
  modelKey = m.key
})
afterAll(async () => {
  await cleanup?.()
})

describe('backtest function', () => {
  it('runs the guide body end to end: the docs/domain.md#backtest-result fields, 22 metrics, trades and equity in the results store', async () => {
    const { result, progress } = await runFunctionInProcess(
      backtest,
      {
        model_path: 'v3_multi_indicator_example/1h_latest',
        strategy_name: 'v3_multi_indicator_example',
        symbol: 'EURUSD',
        timeframe: '1h',
        start_date: START,
        end_date: '2024-12-31',
        // An untrained net is never 60% sure: lower the threshold so that it trades.
        parameter_sets: [{ confidence_threshold: 0 }],
      },
      { storage, operationId: 'op_backtesting_t1' },
    )
    expect(result.symbol).toBe('EURUSD')
    expect(result.model.key).toBe(modelKey)
    expect(Object.keys(result.metrics).sort()).toEqual([...METRIC_KEYS].sort())
    expect(Date.parse(result.start_time)).toBe(Date.parse(START))
    expect(result.equity_curve_length).toBe(N - 1200)
    expect(result.trade_count).toBeGreaterThan(2)
    expect(result.synthetic_data).toBe(true)
    expect(result.config).toMatchObject({ initial_capital: 100_000, commission: 0.001, slippage: 0.0005, confidence_threshold: 0 })
    const trades = await storage.results.getItem<Array<{ net_pnl: number; entry_time: string }>>(result.results.trades_key!)
    expect(trades).toHaveLength(result.trade_count)
    expect(Date.parse(trades![0].entry_time)).toBeGreaterThan(Date.parse(START))
    const csv = String(await storage.results.getItem(result.results.equity_curve_key!))
    const lines = csv.trim().split('\n')
    expect(lines).toHaveLength(result.equity_curve_length + 1)
    const final = Number(lines.at(-1)!.split(',')[2])
    expect(final).toBeCloseTo(100_000 + trades!.reduce((a, t) => a + t.net_pnl, 0), 6)
    expect(result.metrics.total_return).toBeCloseTo(final - 100_000, 6)
    expect(result.results_prefix).toBe('backtests/op_backtesting_t1')
    expect(resolveLocalPath(storage.options, 'results', result.results.trades_key!)).toContain('backtests/op_backtesting_t1')
    // Progress: ≥100 engine updates with the bar's date, monotone.
    const engine = progress.filter((p) => (p.context as { current_date?: string } | undefined)?.current_date)
    expect(engine.length).toBeGreaterThanOrEqual(100)
    for (let i = 1; i < progress.length; i++) expect(progress[i].percentage).toBeGreaterThanOrEqual(progress[i - 1].percentage)
    expect(engine[0].current_step).toMatch(/^Backtesting EURUSD 1h \[2024-/)
    // docs/domain.md#backtest-progress context; the last engine update has seen every bar (trades closed by the forced exit come after).
    expect(engine.at(-1)!.context).toMatchObject({
      current_bar: result.equity_curve_length,
      total_bars: result.equity_curve_length,
      current_pnl: expect.any(Number),
    })
    expect((engine.at(-1)!.context as { total_trades: number }).total_trades).toBeGreaterThanOrEqual(result.trade_count - 1)
    expect(progress.at(-1)!.percentage).toBe(100)
  })

  it('one invocation sweeps symbols × parameter sets; each run equals a single run', async () => {
    const sets = [
      { name: 'loose', confidence_threshold: 0 },
      { name: 'strict', confidence_threshold: 1 },
      { name: 'costly', confidence_threshold: 0, commission: 0.01, allow_short_from_flat: true },
    ]
    const { result } = await runFunctionInProcess(
      backtest,
      { model_path: modelKey, symbols: ['EURUSD', 'GBPUSD'], start_date: START, parameter_sets: sets },
      { storage },
    )
    expect(result.runs).toHaveLength(6)
    expect(result.runs.map((r) => `${r.symbol}:${r.parameter_set_name}`)).toEqual([
      'EURUSD:loose',
      'EURUSD:strict',
      'EURUSD:costly',
      'GBPUSD:loose',
      'GBPUSD:strict',
      'GBPUSD:costly',
    ])
    expect(result.runs[1].trade_count).toBe(0)
    expect(result.runs[2].config.commission).toBe(0.01)
    const single = await runFunctionInProcess(
      backtest,
      { model_path: modelKey, symbol: 'GBPUSD', start_date: START, parameter_sets: [sets[2]] },
      { storage },
    )
    expect(single.result.metrics).toEqual(result.runs[5].metrics)
    expect(single.result.trade_count).toBe(result.runs[5].trade_count)
  })

  it('inference matches the saved model on the same features; engine results are deterministic', async () => {
    const ctx = { storage, signal: new AbortController().signal, logger: console as never }
    const model = await loadBacktestModel(ctx, modelKey)
    const prep = await prepareSymbol(ctx, model, { symbol: 'EURUSD', timeframe: '1h', startMs: -Infinity, endMs: Infinity })
    const { outputs } = prep
    expect(outputs.validFrom).toBeGreaterThan(10) // RSI/ADX warm-up, not a fixed 50
    expect(outputs.validFrom).toBeLessThan(50)
    // Direct tf predict on rows validFrom..validFrom+99 of the same (normalised) matrix.
    const { buildFeatureMatrix } = await import('../../../trading/index.ts')
    const { loadBars } = await import('../../../trading/index.ts')
    const m = buildFeatureMatrix(model.strategy, { '1h': await loadBars(storage.data, { symbol: 'EURUSD', timeframe: '1h' }) })
    const rows = m.values.subarray(outputs.validFrom * m.cols, (outputs.validFrom + 100) * m.cols)
    const direct = tf.tidy(() => tf.softmax(model.loaded.model.predict(tf.tensor2d(rows, [100, m.cols])) as tf.Tensor2D).dataSync())
    for (let i = 0; i < 300; i++) expect(outputs.values[outputs.validFrom * 3 + i]).toBeCloseTo(direct[i], 6)
    for (let i = 0; i < outputs.validFrom * 3; i++) expect(Number.isNaN(outputs.values[i])).toBe(true)
    const cfg = resolveEngineConfig(model.decisions, { confidence_threshold: 0 })
    const window = resolveWindow(prep.bars.time, -Infinity, Infinity, outputs.validFrom, H)!
    const a = runBacktest(prep.bars, createSignalCache(outputs)(cfg), cfg, window)
    const snap = JSON.stringify(a.metrics)
    const b = runBacktest(prep.bars, createSignalCache(outputs)(cfg), cfg, window)
    expect(JSON.stringify(b.metrics)).toBe(snap)
  })

  it("model_path as an absolute path under the models directory (the guide's form)", async () => {
    const abs = resolveLocalPath(storage.options, 'models', modelKey)!
    expect(abs.startsWith('/')).toBe(true)
    const { result } = await runFunctionInProcess(backtest, { model_path: abs, symbol: 'EURUSD', start_date: START }, { storage })
    expect(result.model.key).toBe(modelKey)
    await expect(runFunctionInProcess(backtest, { model_path: '/elsewhere/x/1h_v1', symbol: 'EURUSD' }, { storage })).rejects.toMatchObject(
      { statusCode: 404, message: expect.stringMatching(/not under the models directory/) },
    )
  })

  it('wasm and cpu backends give the same outputs and the same backtest', async () => {
    const { useTfBackend } = await import('../../../trading/model/index.ts')
    const { predictWindow } = await import('../src/pipeline.ts')
    const ctx = { storage, signal: new AbortController().signal, logger: console as never }
    const model = await loadBacktestModel(ctx, modelKey)
    const first = await useTfBackend()
    const prep = await prepareSymbol(ctx, model, { symbol: 'EURUSD', timeframe: '1h', startMs: -Infinity, endMs: Infinity })
    const { buildFeatureMatrix, loadBars } = await import('../../../trading/index.ts')
    const m = buildFeatureMatrix(model.strategy, { '1h': await loadBars(storage.data, { symbol: 'EURUSD', timeframe: '1h' }) })
    try {
      const other = await useTfBackend({ force: first.backend === 'cpu' ? 'wasm' : 'cpu' })
      expect(other.backend).not.toBe(first.backend)
      const again = await predictWindow(model, m, 0, m.rows)
      for (let i = 0; i < again.values.length; i++) {
        if (Number.isNaN(prep.outputs.values[i])) expect(Number.isNaN(again.values[i])).toBe(true)
        else expect(Math.abs(again.values[i] - prep.outputs.values[i])).toBeLessThan(1e-5)
      }
      const cfg = resolveEngineConfig(model.decisions, { confidence_threshold: 0 })
      const window = resolveWindow(prep.bars.time, -Infinity, Infinity, prep.outputs.validFrom, H)!
      const a = JSON.stringify(runBacktest(prep.bars, createSignalCache(prep.outputs)(cfg), cfg, window).metrics)
      expect(JSON.stringify(runBacktest(prep.bars, createSignalCache(again)(cfg), cfg, window).metrics)).toBe(a)
    } finally {
      await useTfBackend()
    }
  })

  it('bad input fails with a clear 4xx, not a crash', async () => {
    await expect(runFunctionInProcess(backtest, { model_path: 'nope/1h_latest', symbol: 'EURUSD' }, { storage })).rejects.toMatchObject({
      statusCode: 404,
      message: expect.stringMatching(/train/),
    })
    await expect(runFunctionInProcess(backtest, { model_path: modelKey, symbol: 'USDJPY' }, { storage })).rejects.toMatchObject({
      statusCode: 404,
      code: 'DATA_NOT_FOUND',
    })
    await expect(
      runFunctionInProcess(backtest, { model_path: modelKey, symbol: 'EURUSD', start_date: '2030-01-01' }, { storage }),
    ).rejects.toMatchObject({ statusCode: 422 })
    await expect(
      runFunctionInProcess(backtest, { model_path: modelKey, symbol: 'EURUSD', timeframe: '4h' }, { storage }),
    ).rejects.toMatchObject({ statusCode: 422 })
    await expect(runFunctionInProcess(backtest, { symbol: 'EURUSD' }, { storage })).rejects.toMatchObject({
      statusCode: 422,
      message: expect.stringMatching(/model_path/),
    })
    await expect(
      runFunctionInProcess(backtest, { model_path: modelKey, parameter_sets: [{ confidence_treshold: 0.5 }] }, { storage }),
    ).rejects.toMatchObject({ statusCode: 422 })
  })

  it("the guide's body without model_path: the latest model of strategy_name, symbol from the model", async () => {
    // One name per strategy (docs/decisions.md#one-name-per-strategy): train stored the model under
    // the file name, though this YAML's name: says v3_multi_indicator_example.
    const yaml = await referenceYaml('v3_multi_indicator.yaml')
    await storage.strategies.setItem('v3_multi_indicator.yaml', yaml)
    const byFile = await writeModel(storage, yaml, { planted: true, name: 'v3_multi_indicator' })
    const { result } = await runFunctionInProcess(
      backtest,
      { strategy_name: 'v3_multi_indicator', start_date: START.slice(0, 10), end_date: '2024-03-10' },
      { storage },
    )
    expect(byFile.key).toMatch(/^v3_multi_indicator\/1h_v\d+$/)
    expect(result.model.key).toBe(byFile.key)
    expect(result.symbol).toBe('EURUSD')
    expect(result.timeframe).toBe('1h')
    expect(Date.parse(result.end_time)).toBeLessThanOrEqual(Date.parse('2024-03-10T23:59:59Z'))
    expect(Date.parse(result.end_time)).toBe(Date.parse('2024-03-10T23:00:00Z'))
  })

  it('cancellation stops a sweep', async () => {
    const ac = new AbortController()
    const p = runFunctionInProcess(
      backtest,
      {
        model_path: modelKey,
        symbol: 'EURUSD',
        parameter_sets: Array.from({ length: 1000 }, () => ({ confidence_threshold: 0 })),
        save_details: 'none',
      },
      {
        storage,
        signal: ac.signal,
        onProgress: (u) => {
          if (u.percentage > 50) ac.abort()
        },
      },
    )
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' })
  })
})

describe('sequence models', () => {
  it('LSTM: the warm-up adds the window, each output is the net applied to the window ending at its row', async () => {
    const { storage: s, cleanup: done } = await createTempStorage()
    try {
      await writeBars(s, 'EURUSD', '1h', 400, 9)
      const yaml = `
name: tiny_lstm
version: "3.0"
training_data: {symbols: {mode: single, symbol: EURUSD}, timeframes: {mode: single, timeframe: "1h"}, history_required: 50}
indicators: {rsi_14: {type: rsi, period: 14}}
fuzzy_sets: {rsi_m: {indicator: rsi_14, low: [0, 30, 50], high: [50, 70, 100]}}
nn_inputs: [{fuzzy_set: rsi_m, timeframes: all}, {raw_indicator: rsi_14, timeframes: all, normalization: zscore}]
model: {type: lstm, architecture: {sequence_length: 5, hidden_size: 8, num_layers: 1, dropout: 0.1}}
decisions: {output_format: classification, confidence_threshold: 0.3}
training: {labels: {source: zigzag, zigzag_threshold: 0.01, label_lookahead: 10}, epochs: 1}
`
      const norm = {
        version: 1,
        fitted_rows: { start: 0, end: 200 },
        features: { '1h_rsi_14_raw': { method: 'zscore', mean: 50, std: 10 } },
      }
      const m = await writeModel(s, yaml, { normalization: norm })
      const ctx = { storage: s, signal: new AbortController().signal, logger: console as never }
      const model = await loadBacktestModel(ctx, 'tiny_lstm/1h_latest')
      expect(model.sequenceLength).toBe(5)
      const prep = await prepareSymbol(ctx, model, { symbol: 'EURUSD', timeframe: '1h', startMs: -Infinity, endMs: Infinity })
      const { buildFeatureMatrix, loadBars } = await import('../../../trading/index.ts')
      const fm = buildFeatureMatrix(
        model.strategy,
        { '1h': await loadBars(s.data, { symbol: 'EURUSD', timeframe: '1h' }) },
        { normalization: norm as never },
      )
      expect(prep.outputs.validFrom).toBe(fm.firstValidRow + 4)
      // Normalisation was applied: the raw RSI column is a z-score, not 0..100.
      expect(Math.abs(fm.values[fm.firstValidRow * fm.cols + 2])).toBeLessThan(6)
      const row = prep.outputs.validFrom + 17
      const win = fm.values.slice((row - 4) * fm.cols, (row + 1) * fm.cols)
      const direct = tf.tidy(() => tf.softmax(m.model.predict(tf.tensor3d(win, [1, 5, fm.cols])) as tf.Tensor2D).dataSync())
      for (let k = 0; k < 3; k++) expect(prep.outputs.values[row * 3 + k]).toBeCloseTo(direct[k], 5)
      const { result } = await runFunctionInProcess(backtest, { model_path: 'tiny_lstm/1h_latest', symbol: 'EURUSD' }, { storage: s })
      expect(Date.parse(result.start_time)).toBe(prep.bars.time[prep.outputs.validFrom])
      expect(result.model.sequence_length).toBe(5)
    } finally {
      await done()
    }
  })

  const TINY_MTF = `
name: tiny_mtf
version: "3.0"
training_data: {symbols: {mode: single, symbol: EURUSD}, timeframes: {mode: multi_timeframe, list: ["5m", "1h"], base_timeframe: "1h"}, history_required: 50}
indicators: {rsi_14: {type: rsi, period: 14}}
fuzzy_sets: {rsi_m: {indicator: rsi_14, low: [0, 30, 50], high: [50, 70, 100]}}
nn_inputs: [{fuzzy_set: rsi_m, timeframes: all}]
model: {type: mlp, architecture: {hidden_layers: [8]}}
decisions: {output_format: classification}
training: {labels: {source: zigzag, zigzag_threshold: 0.01, label_lookahead: 10}, epochs: 1}
`

  it('multi-timeframe: loads every timeframe the model needs, features aligned on the base', async () => {
    const { storage: s, cleanup: done } = await createTempStorage()
    try {
      await writeBars(s, 'EURUSD', '1h', 300, 5)
      await writeBars(s, 'EURUSD', '5m', 300 * 12, 6, Date.UTC(2024, 0, 1), 300_000)
      await writeModel(s, TINY_MTF)
      const { result } = await runFunctionInProcess(
        backtest,
        { model_path: 'tiny_mtf/1h_latest', parameter_sets: [{ confidence_threshold: 0 }] },
        { storage: s },
      )
      expect(result.model.features).toBe(4)
      expect(result.timeframe).toBe('1h')
      expect(result.equity_curve_length).toBeGreaterThan(250)
      await expect(
        runFunctionInProcess(backtest, { model_path: 'tiny_mtf/1h_latest', symbol: 'EURUSD', timeframe: '5m' }, { storage: s }),
      ).rejects.toMatchObject({ statusCode: 422 })
    } finally {
      await done()
    }
  })

  it('multi-timeframe: trades only inside the window every timeframe covers, and refuses an overlap under 7 days (docs/domain.md#multi-timeframe-alignment)', async () => {
    const { storage: s, cleanup: done } = await createTempStorage()
    try {
      const { key } = await writeModel(s, TINY_MTF)
      // 1h for 20 days; 5m from day 2 for 10 days: the base bars after day 12 have no 5m bars.
      const fiveStart = Date.UTC(2024, 0, 3)
      const fiveEnd = fiveStart + 10 * 24 * H
      await writeBars(s, 'EURUSD', '1h', 20 * 24, 5)
      await writeBars(s, 'EURUSD', '5m', 10 * 24 * 12, 6, fiveStart, 300_000)
      const { result } = await runFunctionInProcess(
        backtest,
        { model_path: 'tiny_mtf/1h_latest', parameter_sets: [{ confidence_threshold: 0 }] },
        { storage: s },
      )
      expect(Date.parse(result.start_time)).toBeGreaterThanOrEqual(fiveStart)
      expect(Date.parse(result.end_time)).toBe(fiveEnd - H)

      await writeBars(s, 'GBPUSD', '1h', 20 * 24, 7)
      await writeBars(s, 'GBPUSD', '5m', 3 * 24 * 12, 8, fiveStart, 300_000)
      await expect(
        // The version itself: `…_latest` of GBPUSD names only models trained on a set holding GBPUSD.
        runFunctionInProcess(backtest, { model_path: key, symbol: 'GBPUSD', timeframe: '1h' }, { storage: s }),
      ).rejects.toMatchObject({ statusCode: 422, code: 'MULTI_TF_INSUFFICIENT_COVERAGE', retryable: false })
    } finally {
      await done()
    }
  })
})
