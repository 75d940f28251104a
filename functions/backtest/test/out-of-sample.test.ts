import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '../../../runtime/function/index.ts'
import type { KtrdrStorage } from '../../../storage/index.ts'
import backtest from '../index.ts'
import { createTempStorage, referenceYaml, writeBars, writeModel } from './_fixtures.ts'

const H = 3_600_000
const T0 = Date.UTC(2024, 0, 1)
const at = (bar: number) => new Date(T0 + bar * H).toISOString()
let storage: KtrdrStorage
let cleanup: () => Promise<void>
const body = { model_path: 'v3_multi_indicator_example/1h_latest', symbol: 'EURUSD', timeframe: '1h' }

beforeAll(async () => {
  ;({ storage, cleanup } = await createTempStorage())
  await writeBars(storage, 'EURUSD', '1h', 1600, 3)
  // The model saw bars 0–999 of EURUSD.
  await writeModel(storage, await referenceYaml('v3_multi_indicator.yaml'), {
    planted: true,
    inSample: { EURUSD: { start: at(0), end: at(999) } },
  })
})
afterAll(async () => {
  await cleanup?.()
})

describe("backtest against the model's training range", () => {
  it('an overlapping window is refused with 422 under require_out_of_sample, else reported with the overlap', async () => {
    const inside = { ...body, start_date: at(900), end_date: at(1400), parameter_sets: [{ confidence_threshold: 0 }] }
    await expect(runFunctionInProcess(backtest, { ...inside, require_out_of_sample: true }, { storage })).rejects.toMatchObject({
      statusCode: 422,
      code: 'BACKTEST_IN_SAMPLE',
      retryable: false,
    })
    const { result } = await runFunctionInProcess(backtest, inside, { storage })
    expect(result.out_of_sample).toMatchObject({ checked: true, overlap_bars: 100 })
    expect(result.warnings.map((w) => w.code)).toEqual(['BACKTEST_IN_SAMPLE'])
    const after = await runFunctionInProcess(
      backtest,
      { ...body, start_date: at(1000), end_date: at(1599), require_out_of_sample: true, parameter_sets: [{ confidence_threshold: 0 }] },
      { storage },
    )
    expect(after.result.out_of_sample.overlap_bars).toBe(0)
    expect(after.result.warnings).toEqual([])
  })

  it('every run explains itself: calls add up, filters account for every call, baselines beside the return', async () => {
    const { result } = await runFunctionInProcess(
      backtest,
      { ...body, start_date: at(1000), parameter_sets: [{ confidence_threshold: 0.4 }] },
      { storage },
    )
    const d = result.decisions
    expect(d.calls.buy + d.calls.sell + d.calls.hold).toBe(d.decision_bars)
    expect(d.decision_bars).toBe(result.equity_curve_length - 1)
    const f = d.filtered
    expect(f.confidence + f.separation + f.position + f.long_only + d.executed_calls).toBe(d.calls.buy + d.calls.sell)
    expect(d.trades).toBe(result.trade_count)
    expect(d.time_in_market_pct).toBeGreaterThan(0)
    expect(d.exposure_pct).toBeGreaterThan(0)
    // 25 % sizing: exposure ≈ a quarter of the time in market.
    expect(d.exposure_pct).toBeLessThan(d.time_in_market_pct * 0.3)
    expect(d.why_no_trades).toBeNull()
    const b = result.baselines
    expect(b.random_entries!.draws).toBeGreaterThanOrEqual(1000)
    expect(b.random_entries!.percentile).toBeGreaterThanOrEqual(0)
    expect(b.verdict).toMatch(/percentile of random entries|beats random entries/)
    expect(Number.isFinite(b.buy_and_hold.market_return_pct)).toBe(true)
    // One unit per quantity: percent.
    expect(result.metrics.total_return_pct).toBeCloseTo((result.metrics.total_return / 100_000) * 100, 10)
  })

  it('a run with no trades says why', async () => {
    const { result } = await runFunctionInProcess(
      backtest,
      { ...body, start_date: at(1000), parameter_sets: [{ confidence_threshold: 1 }] },
      { storage },
    )
    expect(result.trade_count).toBe(0)
    expect(result.decisions.why_no_trades).toMatch(/filtered: \d+ by confidence/)
    expect(result.baselines.random_entries).toBeNull()
    expect(result.baselines.verdict).toMatch(/^no trades: /)
  })
})
