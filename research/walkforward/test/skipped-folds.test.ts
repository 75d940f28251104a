// Folds whose windows hold no bars (a weekend, a gap in the data, a backtest that found none) are
// skipped and said aloud, the others aggregated; and the stitched curve served decimated.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateSyntheticSeries, lowerBound, mergeBars, saveBars, sliceSeries } from '../../../trading/index.ts'
import { startFakeTrainingHost, startWalkForwardGateway } from '../../parents/test/_fake-cluster.ts'
import { parentOps } from '../../parents/test/_parent-ops.ts'

const ROOT = join(import.meta.dirname, '../../..')
const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

type G = Awaited<ReturnType<typeof startWalkForwardGateway>>
async function gateway() {
  const g = await startWalkForwardGateway()
  cleanups.push(() => g.close())
  return g
}
async function host(g: G, market?: Parameters<typeof startFakeTrainingHost>[2]) {
  const h = await startFakeTrainingHost(g, 'host-1', market)
  cleanups.push(() => h.close())
  return h
}
const { finished, childrenOf } = parentOps('walkforward')

function cli(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/ktrdr.mjs'), ...args],
      { cwd: ROOT, env: { ...process.env, KTRDR_API_TOKEN: '' } },
      (error, stdout, stderr) => resolve({ code: (error as { code?: number } | null)?.code ?? 0, stdout, stderr }),
    )
  })
}

// The synthetic EURUSD is forex: no bar from Friday 22:00 to Sunday 22:00 UTC. 2020-01-11 is a Saturday.
const DAILY = { strategy: 'regime_momentum', start_date: '2020-01-01', end_date: '2020-01-14', train_window: '7d', test_window: '1d' }

describe('walk-forward folds without bars', () => {
  it('a test window on a weekend: that fold is skipped before anything trains for it, the others run and aggregate, and the record, CLI and events say so', async () => {
    const g = await gateway()
    const h = await host(g)
    const res = await g.api('/api/v1/walkforward', { body: DAILY })
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    expect(res.body.folds).toHaveLength(7)
    const reason = 'no EURUSD 1h bars in the test window 2020-01-11 → 2020-01-11'
    expect(res.body.folds[3]).toMatchObject({ fold: 4, test: { start: '2020-01-11' }, skipped: { phase: 'plan', reason } })
    expect(res.body.folds.filter((f: any) => f.skipped)).toHaveLength(1)
    expect(res.body.progress.total).toBe(12)

    const wf = await finished(g, res.body.operation_id)
    expect(wf.status, JSON.stringify(wf.error)).toBe('completed')
    // Nothing trained or tested for fold 4: six folds, twelve children.
    const children = await childrenOf(g, wf.operation_id)
    expect(children).toHaveLength(12)
    expect(Object.keys(wf.children).some((k) => k.startsWith('fold_4:'))).toBe(false)
    expect(h.received.map((r) => (r.input as any).start_date)).not.toContain(wf.folds[3].train.start)
    expect(h.received.map((r) => (r.input as any).start_date)).not.toContain('2020-01-11')
    expect(wf.summary).toMatchObject({
      folds: 7,
      tested: 6,
      skipped: [{ fold: 4, test: { start: '2020-01-11', end: '2020-01-11' }, reason }],
      stitched: { EURUSD: { bars: 24 } },
      consistency: { EURUSD: { folds: 6 } },
    })
    expect(wf.summary.stability.EURUSD.total_return_pct.n).toBe(6)
    expect(wf.progress.current_step).toBe(`6 folds tested out of sample, 1 skipped (fold 4: ${reason})`)
    const folds = (await g.api(`/api/v1/results/walkforward/${wf.operation_id}/folds.json`)).body
    expect(folds[3]).toMatchObject({ fold: 4, skipped: reason, test_runs: [] })

    const shown = await cli(['walkforward', 'show', wf.operation_id, '--url', g.url])
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain('1 of 7 folds skipped (left out of the stitched curve and every figure across folds):')
    expect(shown.stdout).toContain(`fold 4 (test 2020-01-11..2020-01-11): ${reason}`)
    expect(shown.stdout).toMatch(/^\s*4\s+2020-01-04\.\.2020-01-10\s+2020-01-11\.\.2020-01-11\s.*skipped/m)
  }, 60_000)

  it('a gap in one symbol’s data: folds whose test or training window falls in it are skipped, naming the symbol and the window', async () => {
    const g = await gateway()
    await host(g)
    // GBPUSD without February.
    const full = generateSyntheticSeries({ symbol: 'GBPUSD', timeframe: '1h', bars: 2500, seed: 2, start: '2020-01-01' })
    const from = lowerBound(full.time, Date.parse('2020-02-01T00:00:00Z'))
    const to = lowerBound(full.time, Date.parse('2020-03-01T00:00:00Z'))
    await saveBars(g.gateway.services.storage.data, mergeBars(sliceSeries(full, 0, from), sliceSeries(full, to, full.length)))
    const res = await g.api('/api/v1/walkforward', {
      body: {
        strategy: 'regime_momentum',
        symbols: ['EURUSD', 'GBPUSD'],
        start_date: '2020-01-01',
        end_date: '2020-03-31',
        train_window: '15d',
        test_window: '15d',
      },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    expect(res.body.folds.map((f: any) => f.skipped?.reason ?? null)).toEqual([
      null,
      null,
      'no GBPUSD 1h bars in the test window 2020-02-15 → 2020-02-29',
      'no GBPUSD 1h bars in the training window 2020-02-15 → 2020-02-29',
      null,
    ])
    const wf = await finished(g, res.body.operation_id)
    expect(wf.status, JSON.stringify(wf.error)).toBe('completed')
    expect(await childrenOf(g, wf.operation_id)).toHaveLength(6)
    expect(wf.summary).toMatchObject({ folds: 5, tested: 3, stitched: { EURUSD: { bars: 12 }, GBPUSD: { bars: 12 } } })
    expect(wf.summary.skipped.map((s: any) => s.fold)).toEqual([3, 4])
  }, 60_000)

  it('every test window empty: 422 WALKFORWARD_NO_BARS naming the range, before anything starts', async () => {
    const g = await gateway()
    const h = await host(g)
    // Three days of training, then each Saturday: every test window is a weekend day.
    const res = await g.api('/api/v1/walkforward', {
      body: { ...DAILY, end_date: '2020-01-31', train_window: '3d', test_window: '1d', step: '1w' },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(422)
    expect(res.body).toMatchObject({
      code: 'WALKFORWARD_NO_BARS',
      details: { field: 'test_window', start: '2020-01-01', end: '2020-01-31' },
    })
    expect(res.body.message).toMatch(/^test_window: none of the 4 folds between 2020-01-01 and 2020-01-31 has EURUSD 1h bars/)
    expect(res.body.message).toContain('fold 1: no EURUSD 1h bars in the test window 2020-01-04 → 2020-01-04')
    expect(res.body.details.skipped.map((s: any) => s.test.start)).toEqual(['2020-01-04', '2020-01-11', '2020-01-18', '2020-01-25'])
    expect((await g.api('/api/v1/walkforward')).body.total_count).toBe(0)
    expect(h.received).toHaveLength(0)
  }, 60_000)

  it('a backtest that finds no bars (BACKTEST_WINDOW_EMPTY) or reports 0 bars: its fold is skipped with the reason, the others aggregate', async () => {
    const g = await gateway()
    await host(g, {
      returnPct: (s) => ({ '2020-01-31': 10, '2020-02-15': -5, '2020-03-01': 4, '2020-03-16': 2 })[s]!,
      emptyWindow: (s) => s === '2020-02-15',
      bars: (s) => (s === '2020-03-01' ? 0 : 4),
    })
    const body = { strategy: 'regime_momentum', start_date: '2020-01-01', end_date: '2020-03-31', train_window: '30d', test_window: '15d' }
    const wf = await finished(g, (await g.api('/api/v1/walkforward', { body })).body.operation_id)
    expect(wf.status, JSON.stringify(wf.error)).toBe('completed')
    expect(wf.folds[1].skipped).toMatchObject({
      phase: 'backtest',
      reason: expect.stringMatching(/^its backtest op_\S+ found no bars: No EURUSD 1h bars between 2020-02-15 and 2020-02-29$/),
    })
    expect(wf.folds[2].skipped).toMatchObject({
      phase: 'backtest',
      reason: expect.stringMatching(/^its backtest op_\S+ reported 0 bars of EURUSD 1h in the test window 2020-03-01 → 2020-03-15$/),
    })
    expect(wf.summary).toMatchObject({ folds: 4, tested: 2, consistency: { EURUSD: { folds: 2, positive: 2 } } })
    expect(wf.summary.skipped.map((s: any) => s.fold)).toEqual([2, 3])
    // Folds 1 and 4 only, compounded.
    expect(wf.summary.stitched.EURUSD.bars).toBe(8)
    expect(wf.summary.stitched.EURUSD.total_return_pct).toBeCloseTo((1.1 * 1.02 - 1) * 100, 9)
    expect(wf.summary.stability.EURUSD.total_return_pct).toMatchObject({ n: 2, min: 2, max: 10 })
  }, 60_000)

  it('every backtest finds no bars: the walk-forward fails with WALKFORWARD_NO_BARS naming each fold', async () => {
    const g = await gateway()
    await host(g, { emptyWindow: () => true })
    const body = { strategy: 'regime_momentum', start_date: '2020-01-01', end_date: '2020-03-31', train_window: '30d', test_window: '15d' }
    const wf = await finished(g, (await g.api('/api/v1/walkforward', { body })).body.operation_id)
    expect(wf.status).toBe('failed')
    expect(wf.error.code).toBe('WALKFORWARD_NO_BARS')
    expect(wf.error.message).toMatch(/^Every one of the 4 folds between 2020-01-01 and 2020-03-31 was skipped: fold 1: its backtest/)
  }, 60_000)
})

describe('GET /api/v1/walkforward/:id/equity', () => {
  it('serves one symbol’s stitched curve decimated to max_points (peaks, troughs, ends and fold starts kept), saying how many bars it had', async () => {
    const g = await gateway()
    // 360 bars per fold, each fold's value a ramp to its return: the extremes are fold ends.
    await host(g, { returnPct: (s) => ({ '2020-01-31': 10, '2020-02-15': -5, '2020-03-01': 4, '2020-03-16': 2 })[s]!, bars: () => 360 })
    const body = { strategy: 'regime_momentum', start_date: '2020-01-01', end_date: '2020-03-31', train_window: '30d', test_window: '15d' }
    const wf = await finished(g, (await g.api('/api/v1/walkforward', { body })).body.operation_id)
    expect(wf.status, JSON.stringify(wf.error)).toBe('completed')
    const path = `/api/v1/walkforward/${wf.operation_id}/equity`

    const csv = (await g.api<string>(`/api/v1/results/walkforward/${wf.operation_id}/equity.csv`)).body.trim().split('\n').slice(1)
    const rows = csv.map((l) => l.split(','))
    const values = rows.map((r) => Number(r[5]))
    expect(values).toHaveLength(1440)

    const d = (await g.api(`${path}?max_points=100`)).body
    expect(d).toMatchObject({ success: true, symbol: 'EURUSD', symbols: ['EURUSD'], bars: 1440, max_points: 100, decimated: true })
    expect(d.points).toBe(d.time.length)
    expect(d.points).toBeLessThanOrEqual(100)
    expect(d.points).toBeGreaterThanOrEqual(16)
    for (const k of ['value', 'benchmark', 'fold']) expect(d[k]).toHaveLength(d.points)
    expect(Math.max(...d.value)).toBe(Math.max(...values))
    expect(Math.min(...d.value)).toBe(Math.min(...values))
    expect(d.time[0]).toBe(Date.parse(rows[0][0]) / 1000)
    expect(d.time.at(-1)).toBe(Date.parse(rows.at(-1)![0]) / 1000)
    expect(d.value.at(-1)).toBe(values.at(-1))
    // Each fold's first bar is there, so the page marks where each test window starts.
    const foldStarts = rows.filter((r, i) => i === 0 || r[2] !== rows[i - 1][2]).map((r) => Date.parse(r[0]) / 1000)
    expect(foldStarts).toHaveLength(4)
    for (const t of foldStarts) expect(d.time).toContain(t)
    expect(d.fold.filter((f: number, i: number) => i === 0 || f !== d.fold[i - 1])).toEqual([1, 2, 3, 4])

    // Default: 2000 points, like a backtest's chart; 1440 bars fit, nothing dropped.
    const all = (await g.api(path)).body
    expect(all).toMatchObject({ bars: 1440, points: 1440, max_points: 2000, decimated: false })
    expect(all.value).toEqual(values)

    for (const [query, field] of [
      ['max_points=5', 'max_points'],
      ['max_points=abc', 'max_points'],
      ['max_points=100001', 'max_points'],
      ['symbol=GBPUSD', 'symbol'],
    ]) {
      const res = await g.api(`${path}?${query}`)
      expect(res.status, query).toBe(400)
      expect(res.body.details?.field, query).toBe(field)
      expect(res.body.message, query).toContain(field)
    }
    expect((await g.api('/api/v1/walkforward/op_walkforward_nope/equity')).status).toBe(404)
  }, 60_000)

  it('a walk-forward still running has no curve yet: 400 OPERATION_NOT_FINISHED', async () => {
    const g = await gateway()
    const body = { strategy: 'regime_momentum', start_date: '2020-01-01', end_date: '2020-03-31', train_window: '30d', test_window: '15d' }
    const id = (await g.api('/api/v1/walkforward', { body })).body.operation_id
    const res = await g.api(`/api/v1/walkforward/${id}/equity`)
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ code: 'OPERATION_NOT_FINISHED' })
    expect(res.body.message).toContain('running')
  }, 60_000)
})
