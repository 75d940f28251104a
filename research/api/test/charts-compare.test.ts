// What the dashboard, `ktrdr report` and `ktrdr compare` read: a backtest run's chart (decimated
// server-side) and the comparison table. A real gateway on a loopback port, a fake host whose
// invocations return backtest and training results shaped like the functions' own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation } from '../../../runtime/protocol/index.ts'
import { backtestRunKey } from '../../../trading/index.ts'
import type { TestGateway } from '../../../test/kit/index.ts'
import { startResultsGateway } from './_results-gateway.ts'

let cluster: Awaited<ReturnType<typeof startResultsGateway>>
let g: TestGateway
let results: Map<string, unknown>

beforeAll(async () => {
  cluster = await startResultsGateway('charts-host')
  g = cluster.g
  results = cluster.results
})
afterAll(async () => {
  await cluster?.close()
})

async function run(fn: string, result: unknown): Promise<Operation> {
  const key = `r${results.size}`
  results.set(key, result)
  const input = fn === 'echo' ? { message: 'hi' } : { result_for: key }
  const r = await g.api<Operation>(`/api/v1/functions/${fn}/invoke`, { body: { input, wait_seconds: 10 } })
  expect(r.status).toBe(200)
  return r.body
}

const H = 3600
const T0 = Date.UTC(2024, 0, 1) / 1000
const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z')

/** A backtest result as functions/backtest writes it (the fields these routes read), its files stored. */
async function backtest(opts: { bars: number; equity: (i: number) => number; trades: number; strategy?: string; ret?: number }) {
  // Files under a key of their own: the routes read the keys the result names, whatever they are.
  const prefix = backtestRunKey(`op_fixture_${results.size}`, 'EURUSD', 0)
  const rows = ['timestamp,price,portfolio_value,position']
  for (let i = 0; i < opts.bars; i++) rows.push(`${iso(T0 + i * H)},${(1 + i / 1e6).toFixed(6)},${opts.equity(i)},FLAT`)
  await g.gateway.services.storage.results.setItem(`${prefix}/equity.csv`, rows.join('\n') + '\n')
  const trades = Array.from({ length: opts.trades }, (_, k) => ({
    trade_id: k + 1,
    side: k % 2 ? 'SHORT' : 'LONG',
    entry_time: new Date((T0 + (10 * k + 1) * H) * 1000).toISOString(),
    exit_time: new Date((T0 + (10 * k + 5) * H) * 1000).toISOString(),
    entry_price: 1,
    exit_price: 1.01,
    net_pnl: 10,
    return_pct: 1,
  }))
  await g.gateway.services.storage.results.setItem(`${prefix}/trades.json`, JSON.stringify(trades))
  const run0 = {
    strategy_name: opts.strategy ?? 'regime_momentum',
    symbol: 'EURUSD',
    timeframe: '1h',
    start_time: iso(T0),
    end_time: iso(T0 + (opts.bars - 1) * H),
    equity_curve_length: opts.bars,
    synthetic_data: true,
    parameter_set: 0,
    parameter_set_name: null,
    metrics: {
      total_return_pct: opts.ret ?? 5,
      annualized_return: 0.1,
      sharpe_ratio: 1.2,
      sortino_ratio: 1.5,
      calmar_ratio: 0.8,
      max_drawdown_pct: 12,
      volatility: 0.1,
      total_trades: opts.trades,
      win_rate: 0.55,
      profit_factor: 1.3,
      avg_holding_period: 4,
    },
    decisions: { time_in_market_pct: 40 },
    baselines: {
      buy_and_hold: { market_return_pct: 3, return_pct: 2.5 },
      random_entries: { p50_return_pct: 0.5, percentile: 97.5, p_value: 0.026 },
      verdict: 'beats random entries',
    },
    out_of_sample: { overlap_bars: 0 },
    config: {},
    results: { mount: 'results', prefix, trades_key: `${prefix}/trades.json`, equity_curve_key: `${prefix}/equity.csv` },
  }
  const op = await run('backtest', { ...run0, model: { key: 'regime_momentum/1h_v1' }, results_prefix: prefix, runs: [run0] })
  return op.operation_id
}

describe('GET /api/v1/backtests/:id/chart', () => {
  it('a short run comes back whole: every bar, the trades, the deepest drawdown', async () => {
    const curve = [100_000, 104_000, 97_000, 99_000, 110_000, 88_000, 95_000]
    const id = await backtest({ bars: curve.length, equity: (i) => curve[i], trades: 2 })
    const r = await g.api(`/api/v1/backtests/${id}/chart`)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ success: true, symbol: 'EURUSD', run: 0, bars: 7, points: 7, decimated: false, trade_count: 2 })
    expect(r.body.equity.value).toEqual(curve)
    expect(r.body.equity.time[1] - r.body.equity.time[0]).toBe(H)
    expect(r.body.max_drawdown_pct).toBeCloseTo(20, 10) // 110k → 88k
    expect(Math.min(...r.body.drawdown.value)).toBeCloseTo(-20, 10)
    expect(r.body.trades.map((t: { side: string }) => t.side)).toEqual(['LONG', 'SHORT'])
    expect(r.body.trades[0].entry_time).toBe(T0 + H)
    expect(r.body.runs).toEqual([{ symbol: 'EURUSD', run: 0, name: null }])
  })

  it('a 200,000-bar run is decimated to max_points keeping its extremes; max drawdown is from every bar', async () => {
    const n = 200_000
    const id = await backtest({
      bars: n,
      equity: (i) => (i === 150_001 ? 60_000 : i === 42_424 ? 250_000 : 100_000 + Math.round(Math.sin(i / 3000) * 5000)),
      trades: 30,
    })
    const r = await g.api(`/api/v1/backtests/${id}/chart?max_points=1000&max_trades=10`)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ bars: n, decimated: true, max_points: 1000, trade_count: 30, trades_truncated: true })
    expect(r.body.trades).toHaveLength(10)
    for (const s of ['equity', 'drawdown', 'price']) {
      expect(r.body[s].time.length, s).toBeLessThanOrEqual(1000)
      expect(r.body[s].time.length, s).toBe(r.body[s].value.length)
      expect(r.body[s].time[0]).toBe(T0)
      expect(r.body[s].time.at(-1)).toBe(T0 + (n - 1) * H)
    }
    // One time axis for the three curves, so the page can scroll them together bar for bar.
    expect(r.body.drawdown.time).toEqual(r.body.equity.time)
    expect(r.body.price.time).toEqual(r.body.equity.time)
    expect(r.body.points).toBe(r.body.equity.time.length)
    expect(Math.min(...r.body.equity.value)).toBe(60_000)
    expect(Math.max(...r.body.equity.value)).toBe(250_000)
    expect(r.body.max_drawdown_pct).toBeCloseTo(((250_000 - 60_000) / 250_000) * 100, 8)
    expect(Math.min(...r.body.drawdown.value)).toBeCloseTo(-r.body.max_drawdown_pct, 8)
    // Served from the per-file cache the second time: the same answer.
    expect((await g.api(`/api/v1/backtests/${id}/chart?max_points=1000&max_trades=10`)).body).toEqual(r.body)
  })

  it('says what is wrong: bad parameters (400), no such run (404), not a backtest (400), unknown operation (404)', async () => {
    const id = await backtest({ bars: 3, equity: () => 1, trades: 0 })
    for (const q of ['max_points=3', 'max_points=abc', 'max_points=1e9', 'run=-1', 'max_trades=1.5']) {
      const r = await g.api(`/api/v1/backtests/${id}/chart?${q}`)
      expect(r.status, q).toBe(400)
      expect(r.body.message, q).toMatch(new RegExp(q.split('=')[0]))
    }
    const missing = await g.api(`/api/v1/backtests/${id}/chart?symbol=GBPUSD`)
    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({ code: 'RUN_NOT_FOUND' })
    expect(missing.body.message).toMatch(/it has EURUSD\/0/)
    const echo = await run('echo', {})
    const notBt = await g.api(`/api/v1/backtests/${echo.operation_id}/chart`)
    expect(notBt.status).toBe(400)
    expect(notBt.body).toMatchObject({ code: 'NOT_A_BACKTEST' })
    expect((await g.api('/api/v1/backtests/op_nope/chart')).status).toBe(404)
  })
})

describe('GET /api/v1/compare', () => {
  it('puts 2–6 backtests side by side, each figure beside its baselines, the best column marked', async () => {
    const a = await backtest({ bars: 5, equity: () => 1, trades: 1, strategy: 'alpha', ret: 3 })
    const b = await backtest({ bars: 5, equity: () => 1, trades: 1, strategy: 'beta', ret: 9 })
    const r = await g.api(`/api/v1/compare?ids=${a},${b}`)
    expect(r.status).toBe(200)
    expect(r.body.kind).toBe('backtest')
    expect(r.body.operations.map((o: { operation_id: string }) => o.operation_id)).toEqual([a, b])
    expect(r.body.operations.map((o: { label: string }) => o.label)).toEqual(['alpha · EURUSD', 'beta · EURUSD'])
    const row = (key: string) => r.body.rows.find((x: { key: string }) => x.key === key)
    expect(row('total_return_pct')).toMatchObject({ values: [3, 9], better: 'higher', best: 1, format: 'percent' })
    expect(row('buy_and_hold_pct')).toMatchObject({ values: [2.5, 2.5], baseline_of: 'total_return_pct' })
    expect(row('max_drawdown_pct')).toMatchObject({ values: [12, 12], better: 'lower', best: null }) // a tie marks no column
    expect(row('verdict').values).toEqual(['beats random entries', 'beats random entries'])
  })

  it('trainings compare with trainings, with their per-epoch curves', async () => {
    const training = (acc: number) => ({
      model_key: `s/1h_v${acc}`,
      session_info: { strategy_name: 's' },
      training_metrics: { epochs_trained: 2, final_val_accuracy: acc, history: { val_accuracy: [0.4, acc], val_loss: [1, 0.9] } },
      test_metrics: { test_accuracy: acc, majority_baseline: 0.4 },
    })
    const a = await run('train', training(0.5))
    const b = await run('train', training(0.6))
    const r = await g.api(`/api/v1/compare?ids=${a.operation_id}&ids=${b.operation_id}`)
    expect(r.status).toBe(200)
    expect(r.body.kind).toBe('training')
    expect(r.body.operations[1].history.val_accuracy).toEqual([0.4, 0.6])
    expect(r.body.rows.find((x: { key: string }) => x.key === 'test_accuracy')).toMatchObject({ values: [0.5, 0.6], best: 1 })
    expect(r.body.rows.find((x: { key: string }) => x.key === 'majority_baseline')).toMatchObject({ baseline_of: 'test_accuracy' })
  })

  it('refuses fewer than 2 or more than 6, mixed kinds, unfinished and unknown operations', async () => {
    const bt = await backtest({ bars: 2, equity: () => 1, trades: 0 })
    const echo = await run('echo', {})
    const one = await g.api(`/api/v1/compare?ids=${bt},${bt}`)
    expect(one.status).toBe(400)
    expect(one.body.message).toMatch(/2 to 6 different operations.*got 1/)
    expect((await g.api(`/api/v1/compare?ids=${Array.from({ length: 7 }, (_, i) => `op_${i}`).join(',')}`)).status).toBe(400)
    expect((await g.api('/api/v1/compare')).status).toBe(400)
    const mixed = await g.api(`/api/v1/compare?ids=${bt},${echo.operation_id}`)
    expect(mixed.status).toBe(400)
    expect(mixed.body.message).toMatch(new RegExp(`${echo.operation_id} is dummy`))
    expect((await g.api(`/api/v1/compare?ids=${bt},op_nope`)).status).toBe(404)
    const pending = (await g.api<Operation>('/api/v1/functions/bt-only/invoke', { body: { input: {} } })).body
    const live = await g.api(`/api/v1/compare?ids=${bt},${pending.operation_id}`)
    expect(live.status).toBe(400)
    await g.api(`/api/v1/operations/${pending.operation_id}`, { method: 'DELETE' })
  })
})
