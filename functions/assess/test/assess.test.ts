import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTempStorage, runFunctionInProcess } from '../../../runtime/function/index.ts'
import type { WorkerCapabilities } from '../../../runtime/protocol/index.ts'
import { assessmentFacts } from '../../../trading/index.ts'
import { sha256File, unloadAllLlms, writeTinyLlamaGguf } from '../../../trading/llm/index.ts'
import assess from '../index.ts'

let temp: Awaited<ReturnType<typeof createTempStorage>>
let capabilities: WorkerCapabilities

beforeAll(async () => {
  temp = await createTempStorage('ktrdr-assess-')
  const path = join(temp.root, 'tiny.gguf')
  await writeTinyLlamaGguf(path, { seed: 8 })
  const sha256 = await sha256File(path)
  capabilities = {
    cores: 2,
    memory_gb: 4,
    gpu: false,
    ib: false,
    slots: 1,
    llm: { model: 'tiny', sha256, path, size_bytes: 1, context_size: 4096, gpu_layers: 0, threads: 1 },
  }
})
afterAll(async () => {
  await unloadAllLlms()
  await temp.cleanup()
})

const training = (train: number, test: number) => ({
  training_metrics: { final_train_accuracy: train, final_val_accuracy: test },
  test_metrics: { test_accuracy: test, majority_baseline: 0.4, edge_over_majority: test - 0.4 },
})
const backtest = (trades: number, p: number, ret: number, bh: number, sharpe = 1) => ({
  metrics: { total_trades: trades, win_rate: 0.5, sharpe_ratio: sharpe, max_drawdown_pct: 8, total_return_pct: ret },
  baselines: { buy_and_hold: { return_pct: bh }, random_entries: { percentile: (1 - p) * 100, p_value: p } },
})

describe('assessment facts (deterministic)', () => {
  it('allow a strong signal only with enough trades, a small p-value, a return above buy-and-hold and no overfitting', () => {
    expect(assessmentFacts(training(0.62, 0.58), backtest(40, 0.01, 12, 3)).allowed_verdicts).toEqual([
      'strong_signal',
      'weak_signal',
      'no_signal',
    ])
    const few = assessmentFacts(training(0.62, 0.58), backtest(3, 0.01, 12, 3))
    expect(few.allowed_verdicts).toEqual(['no_signal'])
    expect(few.ruled_out.strong_signal).toMatch(/3 trades < 20/)
    expect(assessmentFacts(training(0.62, 0.58), backtest(40, 0.2, 12, 3)).allowed_verdicts).toEqual(['weak_signal', 'no_signal'])
    expect(assessmentFacts(training(0.62, 0.58), backtest(40, 0.01, 2, 3)).ruled_out.strong_signal).toMatch(/buy-and-hold/)
  })

  it('call a large train/test gap overfitting (and never a strong signal); no backtest allows only no_signal or overfit', () => {
    const f = assessmentFacts(training(0.95, 0.5), backtest(40, 0.01, 12, 3))
    expect(f.train_test_gap).toBe(0.45)
    expect(f.allowed_verdicts).toEqual(['weak_signal', 'no_signal', 'overfit'])
    expect(assessmentFacts(training(0.95, 0.5), null).allowed_verdicts).toEqual(['no_signal', 'overfit'])
    expect(assessmentFacts(null, null).allowed_verdicts).toEqual(['no_signal'])
  })
})

describe('assess', () => {
  it('returns the facts and a verdict among the allowed ones, with the model and its sha256', async () => {
    const { result } = await runFunctionInProcess(
      assess,
      {
        strategy_name: 'x',
        training: training(0.95, 0.5),
        backtest: backtest(3, 0.6, -2, 1),
        gates: { backtest: { passed: false, reasons: ['win_rate 0.05 < 0.1'] } },
        reason: 'backtest gate: win_rate 0.05 < 0.1',
      },
      { storage: temp.storage, host: { workerId: 'llm', workerType: 'general', capabilities } },
    )
    expect(result.facts.allowed_verdicts).toEqual(['no_signal', 'overfit'])
    expect(['no_signal', 'overfit']).toContain(result.verdict)
    expect(result.observations.length).toBeGreaterThanOrEqual(1)
    expect(result.hypotheses.length).toBeGreaterThanOrEqual(1)
    expect(result.model).toBe('tiny')
    expect(result.facts.gates.backtest).toEqual({ passed: false, bypassed: false, reasons: ['win_rate 0.05 < 0.1'] })
  }, 120_000)

  it('records the seed it drew; the same seed gives the same assessment; a bad seed is a 422 naming it', async () => {
    const input = { strategy_name: 'x', training: training(0.62, 0.58), backtest: backtest(40, 0.2, 12, 3) }
    const run = (extra: object) =>
      runFunctionInProcess(
        assess,
        { ...input, ...extra },
        { storage: temp.storage, host: { workerId: 'llm', workerType: 'general', capabilities } },
      )
    const { result } = await run({})
    expect(Number.isInteger(result.seed)).toBe(true)
    const again = (await run({ seed: result.seed })).result
    expect({ ...again, stats: null }).toEqual({ ...result, stats: null })
    for (const seed of [-1, 2.5, 2 ** 31])
      await expect(run({ seed }), String(seed)).rejects.toMatchObject({ statusCode: 422, message: expect.stringMatching(/seed/) })
  }, 120_000)
})
