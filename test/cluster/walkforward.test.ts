// Walk-forward analysis and sweeps on a real local cluster: `ktrdr gateway` and two `ktrdr host`
// child processes, the real train and backtest bundles, a synthetic market. Each fold's (or run's)
// training and backtest are real child operations; the backtest's own overlap guard is what says 0 bars.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation } from '../../runtime/protocol/index.ts'
import { createKtrdrStorage } from '../../storage/index.ts'
import { generateSyntheticSeries, saveBars } from '../../trading/index.ts'
import { api, buildFunction, publish, until } from '../kit/index.ts'
import { freePort, REPO, spawnKtrdr, type KtrdrChild } from './_cluster.ts'

let root: string
let home: string
let db: string
let gatewayPort: number
let gateway: { child: KtrdrChild; url: string } | null = null
const hosts: KtrdrChild[] = []
const TOKENS = { KTRDR_API_TOKEN: '', KTRDR_CLUSTER_TOKEN: '' }
const CHROMIUM = process.env.KTRDR_CHROMIUM || '/usr/bin/chromium'
const HAS_CHROMIUM = existsSync(CHROMIUM)
/** The walk-forward the first test ran, for the dashboard's page. */
let first: any = null

// 3,000 hourly bars from 2020-01-01 (to late June): 60 days of training and 30 of testing, moving
// 30 days, fit three folds before 2020-06-20.
const WINDOWS = { strategy: 'regime_momentum', end_date: '2020-06-20', train_window: '60d', test_window: '30d' }

async function startGateway() {
  const child = spawnKtrdr(['gateway', '--port', String(gatewayPort), '--db', db, '--home', home], TOKENS)
  const url = `http://127.0.0.1:${gatewayPort}`
  await until(async () => (await fetch(`${url}/health`)).ok, 60_000, `gateway\n${child.output()}`, 100)
  gateway = { child, url }
}

const get = <T = any>(path: string) => api<T>(gateway!.url, path).then((r) => r.body)
const wfOf = (id: string) => get<{ data: any }>(`/api/v1/walkforward/${id}`).then((b) => b.data)
const opOf = (id: string) => get<Operation>(`/api/v1/operations/${id}`)
const childrenOf = (id: string) => get<{ data: Operation[] }>(`/api/v1/operations/${id}/children?limit=1000`).then((b) => b.data)
const finished = (id: string, timeoutMs = 300_000) =>
  until(
    async () => {
      const w = await wfOf(id)
      return ['completed', 'failed', 'cancelled'].includes(w.status) ? w : null
    },
    timeoutMs,
    `walk-forward ${id} to finish`,
    250,
  )

async function walkForward(body: Record<string, unknown>) {
  const res = await api<any>(gateway!.url, '/api/v1/walkforward', { body })
  expect(res.status, JSON.stringify(res.body)).toBe(202)
  return res.body.operation_id as string
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktrdr-walkforward-'))
  home = join(root, 'home')
  db = join(root, 'gateway.db')
  await mkdir(home, { recursive: true })
  const storage = await createKtrdrStorage({ root: home })
  await saveBars(
    storage.data,
    generateSyntheticSeries({ symbol: 'EURUSD', timeframe: '1h', bars: 3000, seed: 7, start: '2020-01-01', structure: 'trend_regimes' }),
  )
  await storage.strategies.setItem('regime_momentum.yaml', await readFile(join(REPO, 'examples/strategies/regime_momentum.yaml'), 'utf8'))
  await storage.dispose()
  const archives = await Promise.all(['train', 'backtest'].map((name) => buildFunction(name, join(root, 'build', name))))
  gatewayPort = await freePort()
  await startGateway()
  await publish(gateway!.url, 'train', archives[0].archive)
  await publish(gateway!.url, 'backtest', archives[1].archive)
  for (const id of ['wf-host-1', 'wf-host-2']) {
    const port = await freePort()
    const child = spawnKtrdr(['host', '--api', gateway!.url, '--id', id, '--port', String(port), '--home', home, '--no-gpu'], {
      ...TOKENS,
      KTRDR_HOST_EXECUTOR_IDLE_MS: '600000',
    })
    hosts.push(child)
    await until(async () => (await api(gateway!.url, `/api/v1/workers/${id}`)).status === 200, 60_000, `host ${id}\n${child.output()}`, 100)
  }
}, 900_000)

afterAll(async () => {
  for (const h of hosts) await h.kill('SIGKILL')
  await gateway?.child.kill('SIGKILL')
  if (root) await rm(root, { recursive: true, force: true })
})

describe('walk-forward on a real cluster', () => {
  it('`ktrdr walkforward start --wait`: N folds of real train and backtest children, 0 overlapping bars each, aggregated', async () => {
    const cli = spawnKtrdr(
      [
        'walkforward',
        'start',
        '--strategy',
        'regime_momentum',
        '--train',
        '60d',
        '--test',
        '30d',
        '--end',
        '2020-06-20',
        '--epochs',
        '20',
        '--seed',
        '7',
        '--wait',
        '--url',
        gateway!.url,
      ],
      TOKENS,
    )
    const code = await new Promise<number | null>((resolve) => cli.proc.once('exit', resolve))
    const out = cli.output()
    expect(code, out).toBe(0)
    const id = /Started (op_walkforward_\S+): 3 folds, 6 child operations/.exec(out)?.[1]
    expect(id, out).toBeDefined()
    expect(out).toMatch(/EURUSD out of sample \(stitched, \d+ bars\)/)
    expect(out).toMatch(/positive in \d\/3 folds, beat buy-and-hold in \d\/3, beat random entries \(p ≤ 0.05\) in \d\/3/)

    const wf = await wfOf(id!)
    first = wf
    expect(wf.status).toBe('completed')
    expect(wf.folds).toHaveLength(3)
    const children = await childrenOf(id!)
    expect(children).toHaveLength(6)
    expect(children.filter((c) => c.function.name === 'train')).toHaveLength(3)
    for (const c of children) expect(c).toMatchObject({ status: 'completed', parent_operation_id: id, attempts: 1 })
    for (const f of wf.folds) {
      const backtest = children.find((c) => c.operation_id === f.test.operation_id)!
      const result = backtest.result as any
      // The backtest's own guard: measured against the bars the fold's model trained on.
      expect(result.out_of_sample).toMatchObject({ overlap_bars: 0, checked: true })
      expect(result.out_of_sample.in_sample_end < `${f.test.start}T00:00:00Z`).toBe(true)
      expect(result.start_time >= `${f.test.start}T00:00:00Z`).toBe(true)
      expect(result.model.key).toBe(f.training.model_path.replace(/^models\//, ''))
      expect(result.model.key).toMatch(new RegExp(`^${wf.model_name.replace('.', '\\.')}/1h_v\\d+$`))
      expect(f.test.runs[0].metrics.total_return_pct).toBe(result.metrics.total_return_pct)
      expect(f.test.runs[0].baselines.buy_and_hold_pct).toBe(result.baselines.buy_and_hold.return_pct)
    }
    // Stitched from the three test windows' equity curves, bar for bar.
    const bars = wf.folds.reduce((n: number, f: any) => n + f.test.runs[0].bars, 0)
    expect(wf.summary.stitched.EURUSD.bars).toBe(bars)
    const growth = wf.folds.reduce((g: number, f: any) => g * (f.test.runs[0].final_equity / f.test.runs[0].initial_capital), 1)
    expect(wf.summary.stitched.EURUSD.total_return_pct).toBeCloseTo((growth - 1) * 100, 6)
    expect(wf.summary.stability.EURUSD.total_return_pct.n).toBe(3)
    const equity = (await api<string>(gateway!.url, `/api/v1/results/walkforward/${id}/equity.csv`)).body.trim().split('\n')
    expect(equity).toHaveLength(bars + 1)
    // The strategy's own models did not move: the folds' are under their own name.
    const models = (await get<{ data: Array<{ strategy: string }> }>('/api/v1/models')).data.map((m) => m.strategy)
    expect(models).toContain(wf.model_name)
    expect(models).not.toContain('regime_momentum')
  }, 600_000)

  it.skipIf(!HAS_CHROMIUM)(
    'the dashboard draws it: the stitched curve, a row and a marker per fold, no console errors',
    async () => {
      expect(first?.status).toBe('completed')
      const context = await chromium.launchPersistentContext(join(root, 'profile'), {
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
        headless: true,
        viewport: { width: 1400, height: 1000 },
      })
      try {
        const page = context.pages()[0] ?? (await context.newPage())
        const errors: string[] = []
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text())
        })
        page.on('pageerror', (e) => errors.push(e.message))
        await page.goto(`${gateway!.url}/ui/#/walkforward`)
        await page.waitForSelector('main[data-ready="walkforwards"]', { timeout: 30_000 })
        expect(await page.locator('[data-testid=wf-row]').count()).toBeGreaterThanOrEqual(1)
        await page.goto(`${gateway!.url}/ui/#/walkforward/${first.operation_id}`)
        await page.waitForSelector('main[data-ready="walkforward"], [data-testid="error"]', { timeout: 30_000 })
        expect(await page.locator('[data-testid="error"]').count()).toBe(0)
        expect(await page.locator('[data-testid=fold-row]').count()).toBe(3)
        const chart = page.locator('[data-testid=stitched-chart]')
        // Drawn from the gateway's decimated series (max_points 2000 by default), not the whole file.
        const bars = first.summary.stitched.EURUSD.bars
        expect(await chart.getAttribute('data-bars')).toBe(String(bars))
        expect(Number(await chart.getAttribute('data-points'))).toBeLessThanOrEqual(Math.min(bars, 2000))
        expect(await chart.getAttribute('data-decimated')).toBe(String(bars > 2000))
        expect(await chart.getAttribute('data-folds')).toBe('3')
        expect(await page.locator('[data-testid=wf-summary]').textContent()).toMatch(/EURUSD out of sample: .* in \d\/3 folds/)
        await page.screenshot({ path: join(root, 'walkforward.png'), fullPage: true })
        expect(errors).toEqual([])
      } finally {
        await context.close()
      }
    },
    120_000,
  )

  it('cancel mid-training cascades to the running children', async () => {
    const id = await walkForward({ ...WINDOWS, epochs: 10_000, max_parallel: 2 })
    const running = await until(
      async () => {
        const children = await childrenOf(id)
        return children.length === 2 && children.every((c) => c.status === 'running') ? children.map((c) => c.operation_id) : null
      },
      120_000,
      'two trainings running',
      200,
    )
    const res = await api<any>(gateway!.url, `/api/v1/walkforward/${id}`, { method: 'DELETE' })
    expect(res.status).toBe(200)
    expect([...res.body.cancelled_children].sort()).toEqual([...running].sort())
    for (const c of running) expect((await opOf(c)).status).toBe('cancelled')
    expect((await wfOf(id)).status).toBe('cancelled')
    // The hosts stop them: both slots free again.
    await until(async () => (await get<any[]>('/api/v1/workers')).every((w) => w.status === 'AVAILABLE'), 60_000, 'hosts idle', 200)
  }, 300_000)

  it('gateway SIGKILL mid-walk-forward, then restart: it resumes at its fold, finished children are not run again', async () => {
    const id = await walkForward({ ...WINDOWS, epochs: 400, max_parallel: 1 })
    const before = await until(
      async () => {
        const w = await wfOf(id)
        const t = w.children['fold_2:train']
        return t && (await opOf(t)).status === 'running' ? w : null
      },
      240_000,
      'fold 2 training',
      200,
    )
    expect(Object.keys(before.settled).sort()).toEqual(['fold_1:backtest', 'fold_1:train'])
    await gateway!.child.kill('SIGKILL')
    await startGateway()
    const after = await finished(id, 400_000)
    expect(after.status, JSON.stringify(after.error)).toBe('completed')
    for (const key of ['fold_1:train', 'fold_1:backtest', 'fold_2:train']) expect(after.children[key]).toBe(before.children[key])
    const children = await childrenOf(id)
    expect(children).toHaveLength(6)
    expect(new Set(children.map((c) => (c.metadata as any).task)).size).toBe(6)
    for (const key of ['fold_1:train', 'fold_1:backtest']) {
      const c = children.find((x) => x.operation_id === before.children[key])!
      expect(c).toMatchObject({ status: 'completed', attempts: 1, completed_at: expect.any(String) })
      expect(c.completed_at! < before.updated_at).toBe(true)
    }
    for (const f of after.folds) expect(f.test.runs[0].out_of_sample.overlap_bars).toBe(0)
  }, 900_000)

  it('bad inputs against the deployed functions: 4xx naming the field, nothing started', async () => {
    const before = (await get('/api/v1/walkforward')).total_count
    for (const [body, status, field] of [
      [{ ...WINDOWS, commission: 1.5 }, 400, 'commission'],
      [{ ...WINDOWS, train_window: '2y' }, 422, 'train_window'],
      [{ ...WINDOWS, strategy: 'missing' }, 404, 'strategy'],
    ] as const) {
      const res = await api<any>(gateway!.url, '/api/v1/walkforward', { body })
      expect(res.status, JSON.stringify(res.body)).toBe(status)
      expect(res.body.details.field).toBe(field)
    }
    expect((await get('/api/v1/walkforward')).total_count).toBe(before)
  }, 60_000)
})

describe('sweeps on a real cluster', () => {
  it('`ktrdr sweep start --wait`: a training per learning rate, each model backtested over two thresholds, a row per run', async () => {
    const cli = spawnKtrdr(
      [
        'sweep',
        'start',
        '--strategy',
        'regime_momentum',
        '--train',
        'learning_rate=0.001,0.01',
        '--backtest',
        'confidence_threshold=0.4,0.6',
        '--train-end',
        '2020-04-30',
        '--test-start',
        '2020-05-01',
        '--test-end',
        '2020-06-20',
        '--epochs',
        '10',
        '--seed',
        '7',
        '--wait',
        '--url',
        gateway!.url,
      ],
      TOKENS,
    )
    const code = await new Promise<number | null>((resolve) => cli.proc.once('exit', resolve))
    const out = cli.output()
    expect(code, out).toBe(0)
    const id = /Started (op_sweep_\S+): 2 trainings, 2 backtests/.exec(out)?.[1]
    expect(id, out).toBeDefined()
    for (const name of ['lr=0.001,conf=0.4', 'lr=0.001,conf=0.6', 'lr=0.01,conf=0.4', 'lr=0.01,conf=0.6']) expect(out).toContain(name)
    expect(out).toMatch(/4 of 4 runs completed; (best by sharpe_ratio: lr=0\.0?01,conf=0\.[46]|no single best by sharpe_ratio)/)

    const sweep = (await get<{ data: any }>(`/api/v1/sweeps/${id}`)).data
    const children = await childrenOf(id!)
    expect(children.map((c) => c.function.name).sort()).toEqual(['backtest', 'backtest', 'train', 'train'])
    for (const c of children) expect(c).toMatchObject({ status: 'completed', parent_operation_id: id })
    for (const c of children.filter((x) => x.function.name === 'backtest')) {
      const result = c.result as any
      expect(result.runs.map((r: any) => r.parameter_set_name)).toEqual(['conf=0.4', 'conf=0.6'])
      for (const run of result.runs) expect(run.out_of_sample).toMatchObject({ overlap_bars: 0, checked: true })
    }
    for (const row of sweep.table) {
      const backtest = children.find((c) => c.operation_id === row.operations.backtest)!
      const run = (backtest.result as any).runs.find((r: any) => row.name.endsWith(r.parameter_set_name))
      expect(row.metrics.total_return_pct).toBe(run.metrics.total_return_pct)
      expect(row.baselines.buy_and_hold_pct).toBe(run.baselines.buy_and_hold.return_pct)
      expect(row.training_metrics.test_accuracy).toBeTypeOf('number')
    }
    expect(sweep.table.filter((r: any) => r.best).length).toBeLessThanOrEqual(1)
    const csv = (await api<string>(gateway!.url, `/api/v1/results/sweeps/${id}/table.csv`)).body.trim().split('\n')
    expect(csv).toHaveLength(5)
  }, 600_000)

  it('a backtest parameter the deployed backtest refuses is a 422 naming it, before anything starts', async () => {
    const before = (await get('/api/v1/sweeps')).total_count
    const res = await api<any>(gateway!.url, '/api/v1/sweeps', {
      body: {
        strategy: 'regime_momentum',
        training: { end_date: '2020-04-30', epochs: 1 },
        backtest: { start_date: '2020-05-01', parameters: { confidence_threshold: [0.5, 2] } },
      },
    })
    expect(res.status).toBe(422)
    expect(res.body).toMatchObject({ code: 'INPUT_INVALID', details: { field: 'backtest.parameters.confidence_threshold' } })
    expect(res.body.message).toMatch(/^backtest\.parameters\.confidence_threshold: .*parameter_sets\[\d+\]\.confidence_threshold/)
    expect((await get('/api/v1/sweeps')).total_count).toBe(before)
  }, 60_000)
})
