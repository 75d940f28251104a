// The research commands' --json against a real gateway with the research routes: stdout is one
// JSON document, whatever else the command says goes to stderr.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation } from '../../../runtime/protocol/index.ts'
import { backtestRunKey } from '../../../trading/index.ts'
import { ktrdr as run, PROJECT_ROOT as root, type TestGateway } from '../../../test/kit/index.ts'
import { startResultsGateway } from '../../api/test/_results-gateway.ts'

const dir = mkdtempSync(join(tmpdir(), 'ktrdr-cli-json-'))
let cluster: Awaited<ReturnType<typeof startResultsGateway>>
let g: TestGateway
let results: Map<string, unknown>

beforeAll(async () => {
  cluster = await startResultsGateway('json-host')
  g = cluster.g
  results = cluster.results
})
afterAll(async () => {
  await cluster?.close()
  rmSync(dir, { recursive: true, force: true })
})

const ktrdr = (...args: string[]) => run([...args, '--url', g.url])

async function json(...args: string[]): Promise<any> {
  const r = await ktrdr(...args, '--json')
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

/** A completed backtest whose result has the fields compare and report read, its files stored. */
async function backtest(totalReturnPct: number): Promise<string> {
  const key = `bt${results.size}`
  const prefix = backtestRunKey(`op_${key}`, 'EURUSD', 0)
  const times = ['2024-01-01T00:00:00Z', '2024-01-01T01:00:00Z', '2024-01-01T02:00:00Z']
  const equity = ['timestamp,price,portfolio_value,position', ...times.map((t, i) => `${t},1.1,${100_000 + i * totalReturnPct * 500},FLAT`)]
  await g.gateway.services.storage.results.setItem(`${prefix}/equity.csv`, `${equity.join('\n')}\n`)
  await g.gateway.services.storage.results.setItem(`${prefix}/trades.json`, '[]')
  const run0 = {
    strategy_name: 'regime_momentum',
    symbol: 'EURUSD',
    timeframe: '1h',
    start_time: times[0],
    end_time: times[2],
    parameter_set: 0,
    parameter_set_name: null,
    metrics: { total_return_pct: totalReturnPct, sharpe_ratio: 1, max_drawdown_pct: 2, total_trades: 0, win_rate: 0 },
    baselines: { buy_and_hold: { market_return_pct: 1, return_pct: 1 } },
    results: { mount: 'results', prefix, trades_key: `${prefix}/trades.json`, equity_curve_key: `${prefix}/equity.csv` },
  }
  results.set(key, { ...run0, results_prefix: prefix, runs: [run0] })
  const r = await g.api<Operation>('/api/v1/functions/backtest/invoke', { body: { input: { result_for: key }, wait_seconds: 10 } })
  expect(r.status).toBe(200)
  expect(r.body.status).toBe('completed')
  return r.body.operation_id
}

describe('research commands with --json', () => {
  it('strategy upload of two files: one array, one answer per file', async () => {
    const files = ['v3_minimal.yaml', 'squad_cycle1_control.yaml'].map((f) => join(root, 'examples/strategies', f))
    const stored = await json('strategy', 'upload', ...files)
    expect(stored).toEqual([
      expect.objectContaining({ source: files[0], name: 'v3_minimal', created: true, resolved_features: expect.any(Array) }),
      expect.objectContaining({ source: files[1], name: 'squad_cycle1_control', created: true, strategy_name: 'squad_cycle1_control' }),
    ])
  })

  it('compare: the comparison table; report: what it wrote', async () => {
    const [a, b] = [await backtest(4), await backtest(-2)]
    const comparison = await json('compare', a, b)
    expect(comparison).toMatchObject({ kind: 'backtest', operations: [{ operation_id: a }, { operation_id: b }], rows: expect.any(Array) })
    expect(comparison.rows.length).toBeGreaterThan(0)
    for (const row of comparison.rows)
      expect(row).toMatchObject({ label: expect.any(String), values: [expect.anything(), expect.anything()] })

    const out = join(dir, 'report.html')
    const report = await json('report', a, '--out', out)
    expect(report).toEqual({
      file: out,
      bytes: expect.any(Number),
      operation_id: a,
      view: 'backtest',
      summary: expect.stringContaining('EURUSD'),
    })
    expect(existsSync(out)).toBe(true)
  })
})
