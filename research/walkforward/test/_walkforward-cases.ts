// The walk-forward's cases with fake functions, on either database backend (SQLite:
// walkforward.test.ts, PostgreSQL: postgres.cluster.test.ts): research_parents and the children
// filter give the same answers on both.
import { afterEach, describe, expect, it } from 'vitest'
import type { GatewayServerConfig } from '../../../runtime/gateway/index.ts'
import type { DispatchRequest } from '../../../runtime/protocol/index.ts'
import { until } from '../../../test/kit/index.ts'
import { startFakeTrainingHost, startWalkForwardGateway } from '../../parents/test/_fake-cluster.ts'
import { parentOps } from '../../parents/test/_parent-ops.ts'

export interface WalkForwardBackend {
  name: 'sqlite' | 'postgresql'
  /** Gateway settings pointing at a fresh, empty database (none: the gateway's own SQLite file). */
  fresh(): Promise<GatewayServerConfig>
}

// 2020-01-01 … 2020-03-31 with 30 days of training and 15 of testing, moving 15 days: four folds
// (eight children).
export const FOUR_FOLDS = {
  strategy: 'regime_momentum',
  start_date: '2020-01-01',
  end_date: '2020-03-31',
  train_window: '30d',
  test_window: '15d',
  epochs: 2,
}
const BODY = FOUR_FOLDS
const TEST_STARTS = ['2020-01-31', '2020-02-15', '2020-03-01', '2020-03-16']
const RETURNS: Record<string, number> = { '2020-01-31': 10, '2020-02-15': -5, '2020-03-01': 4, '2020-03-16': 2 }

export function describeWalkForward(backend: WalkForwardBackend) {
  const cleanups: Array<() => Promise<unknown> | unknown> = []
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!()
  })

  type G = Awaited<ReturnType<typeof startWalkForwardGateway>>
  async function gateway() {
    const g = await startWalkForwardGateway(undefined, await backend.fresh())
    cleanups.push(() => g.close())
    return g
  }
  async function host(g: G, id: string, market?: Parameters<typeof startFakeTrainingHost>[2], slots?: number) {
    const h = await startFakeTrainingHost(g, id, market, slots)
    cleanups.push(() => h.close())
    return h
  }
  const { of: wfOf, finished, childrenOf } = parentOps('walkforward')

  describe(`walk-forward (fake functions) on ${backend.name}`, () => {
    it('trains and tests each fold as children, strictly out of sample, then stitches and summarises the folds', async () => {
      const g = await gateway()
      const h1 = await host(g, 'host-1', { returnPct: (s) => RETURNS[s] })
      const h2 = await host(g, 'host-2', { returnPct: (s) => RETURNS[s] })
      const res = await g.api('/api/v1/walkforward', { body: BODY })
      expect(res.status, JSON.stringify(res.body)).toBe(202)
      expect(res.body.operation_id).toMatch(/^op_walkforward_\d{8}_\d{6}_[0-9a-f]{8}$/)
      expect(res.body.folds.map((f: any) => [f.train, f.test])).toEqual([
        [
          { start: '2020-01-01', end: '2020-01-30' },
          { start: '2020-01-31', end: '2020-02-14' },
        ],
        [
          { start: '2020-01-16', end: '2020-02-14' },
          { start: '2020-02-15', end: '2020-02-29' },
        ],
        [
          { start: '2020-01-31', end: '2020-02-29' },
          { start: '2020-03-01', end: '2020-03-15' },
        ],
        [
          { start: '2020-02-15', end: '2020-03-15' },
          { start: '2020-03-16', end: '2020-03-30' },
        ],
      ])
      const wf = await finished(g, res.body.operation_id)
      expect(wf.status, JSON.stringify(wf.error)).toBe('completed')
      expect(wf.progress.percentage).toBe(100)

      // Eight children, one per fold and phase, spread over both hosts.
      const children = await childrenOf(g, wf.operation_id)
      expect(children).toHaveLength(8)
      for (const c of children) expect(c).toMatchObject({ status: 'completed', parent_operation_id: wf.operation_id })
      expect(new Set(children.map((c) => c.worker_id))).toEqual(new Set(['host-1', 'host-2']))
      expect([...h1.received, ...h2.received].map((r) => `${r.function.name}:${(r.input as any).start_date}`).sort()).toEqual(
        [...TEST_STARTS.map((s) => `backtest:${s}`), ...wf.folds.map((f: any) => `train:${f.train.start}`)].sort(),
      )
      for (const f of wf.folds) {
        const train = children.find((c) => c.operation_id === f.training.operation_id)!
        const backtest = children.find((c) => c.operation_id === f.test.operation_id)!
        expect(train.input).toMatchObject({ start_date: f.train.start, end_date: f.train.end, epochs: 2, symbols: ['EURUSD'] })
        expect((train.input as any).strategy_yaml).toMatch(new RegExp(`^name: ${wf.model_name.replace('.', '\\.')}$`, 'm'))
        expect(backtest.input).toMatchObject({
          model_path: f.training.model_path,
          start_date: f.test.start,
          end_date: f.test.end,
          require_out_of_sample: true,
        })
        // The test window starts after the training window, and the backtest's own guard saw no overlap.
        expect(f.test.start > f.train.end).toBe(true)
        expect(f.test.runs[0].out_of_sample).toMatchObject({ overlap_bars: 0, checked: true })
      }
      expect(wf.model_name).toBe(`regime_momentum.wf_${wf.operation_id.slice(-8)}`)

      // Stitched: each fold's growth compounds on the last; stability across the four folds.
      const s = wf.summary
      expect(s.folds).toBe(4)
      const compounded = (1.1 * 0.95 * 1.04 * 1.02 - 1) * 100
      expect(s.stitched.EURUSD.total_return_pct).toBeCloseTo(compounded, 9)
      expect(s.stitched.EURUSD.bars).toBe(16)
      expect(s.stitched.EURUSD.buy_and_hold_return_pct).toBeCloseTo((1.02 ** 4 - 1) * 100, 9)
      // Peak after fold 1 (110,000), trough at the end of fold 2 (104,500): 5 %.
      expect(s.stitched.EURUSD.max_drawdown_pct).toBeCloseTo(5, 9)
      const ret = s.stability.EURUSD.total_return_pct
      expect(ret).toMatchObject({ n: 4, min: -5, max: 10, positive_share: 0.75 })
      expect(ret.mean).toBeCloseTo(2.75, 12)
      expect(ret.std).toBeCloseTo(Math.sqrt(((10 - 2.75) ** 2 + (-5 - 2.75) ** 2 + (4 - 2.75) ** 2 + (2 - 2.75) ** 2) / 3), 12)
      expect(s.stability.EURUSD.excess_return_pct).toMatchObject({ n: 4, min: -6.5, max: 8.5 })
      expect(s.stability.EURUSD.buy_and_hold_pct).toMatchObject({ mean: 1.5, std: 0 })
      expect(s.baseline_of).toMatchObject({ buy_and_hold_pct: 'total_return_pct', majority_baseline: 'test_accuracy' })
      expect(s.consistency.EURUSD).toEqual({ folds: 4, positive: 3, beat_buy_and_hold: 3, significant: 1 })
      expect(s.training_stability.test_accuracy).toMatchObject({ n: 4, mean: 0.52 })

      // The files, through the results routes.
      const prefix = `/api/v1/results/walkforward/${wf.operation_id}`
      const listing = (await g.api(prefix)).body
      expect(listing).toMatchObject({ total_count: 3, limit: 1000, offset: 0 })
      expect(listing.data.map((d: any) => d.key).sort()).toEqual(
        ['equity.csv', 'folds.json', 'summary.json'].map((f) => `walkforward/${wf.operation_id}/${f}`),
      )
      const summary = (await g.api(`${prefix}/summary.json`)).body
      expect(summary).toMatchObject({ operation_id: wf.operation_id, folds: 4, stitched: { EURUSD: { bars: 16 } } })
      const folds = (await g.api(`${prefix}/folds.json`)).body
      expect(folds.map((f: any) => f.test_runs[0].total_return_pct)).toEqual([10, -5, 4, 2])
      expect(folds[0]).toMatchObject({
        fold: 1,
        training: { test_accuracy: 0.52, majority_baseline: 0.45 },
        test_runs: [{ symbol: 'EURUSD', buy_and_hold_pct: 1.5, random_p50_pct: 0.1, excess_return_pct: 8.5, overlap_bars: 0 }],
      })
      const equity = (await g.api<string>(`${prefix}/equity.csv`)).body.trim().split('\n')
      expect(equity[0]).toBe('timestamp,symbol,fold,price,fold_value,value,benchmark,position')
      expect(equity).toHaveLength(17)
      expect(Number(equity.at(-1)!.split(',')[5])).toBeCloseTo(100_000 * (1 + compounded / 100), 4)

      // Listed with the envelope; the event stream of a finished one says so and closes.
      expect((await g.api('/api/v1/walkforward?limit=1')).body).toMatchObject({
        total_count: 1,
        limit: 1,
        offset: 0,
        data: [{ operation_id: wf.operation_id, status: 'completed' }],
      })
      const events = await (await fetch(`${g.url}/api/v1/walkforward/${wf.operation_id}/events`)).text()
      expect(events).toMatch(/^event: state\n/)
      expect(events).toMatch(/event: completed\n/)
    })

    it('anchored: every training window starts at start_date and grows by the step', async () => {
      const g = await gateway()
      await host(g, 'host-1')
      const res = await g.api('/api/v1/walkforward', { body: { ...BODY, mode: 'anchored', train_window: '1m', test_window: '2w' } })
      expect(res.status, JSON.stringify(res.body)).toBe(202)
      expect(res.body.folds.map((f: any) => `${f.train.start}..${f.train.end} | ${f.test.start}..${f.test.end}`)).toEqual([
        '2020-01-01..2020-01-31 | 2020-02-01..2020-02-14',
        '2020-01-01..2020-02-14 | 2020-02-15..2020-02-28',
        '2020-01-01..2020-02-28 | 2020-02-29..2020-03-13',
        '2020-01-01..2020-03-13 | 2020-03-14..2020-03-27',
      ])
      const wf = await finished(g, res.body.operation_id)
      expect(wf.status, JSON.stringify(wf.error)).toBe('completed')
      expect(await childrenOf(g, wf.operation_id)).toHaveLength(8)
    })

    it('a fold whose backtest overlaps its training data fails the walk-forward, and what still runs is cancelled', async () => {
      const g = await gateway()
      await host(g, 'host-1', { overlapBars: (s) => (s === TEST_STARTS[0] ? 12 : 0) }, 1)
      const id = (await g.api('/api/v1/walkforward', { body: { ...BODY, max_parallel: 2 } })).body.operation_id
      const wf = await finished(g, id)
      expect(wf.status).toBe('failed')
      expect(wf.error).toMatchObject({ code: 'BACKTEST_IN_SAMPLE', message: expect.stringContaining('fold 1 backtest') })
      expect(wf.error.message).toContain('by 12 bars')
      const children = await childrenOf(g, id)
      expect(children.every((c) => ['completed', 'cancelled'].includes(c.status))).toBe(true)
      expect(children.length).toBeLessThan(8)
    })

    it('cancel: the walk-forward and every pending child; 400 once finished', async () => {
      const g = await gateway()
      // No host: the first three trainings wait in the queue.
      const id = (await g.api('/api/v1/walkforward', { body: { ...BODY, max_parallel: 3 } })).body.operation_id
      const started = await until(async () => {
        const children = Object.values((await wfOf(g, id)).children) as string[]
        return children.length === 3 ? children : null
      })
      const res = await g.api(`/api/v1/walkforward/${id}`, { method: 'DELETE' })
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ operation_id: id, status: 'cancelled' })
      expect([...res.body.cancelled_children].sort()).toEqual([...started].sort())
      for (const c of await childrenOf(g, id)) expect(c.status).toBe('cancelled')
      expect((await wfOf(g, id)).status).toBe('cancelled')
      expect((await g.api(`/api/v1/walkforward/${id}`, { method: 'DELETE' })).status).toBe(400)
      // A host that registers now gets nothing of it.
      const h = await host(g, 'host-late')
      await g.gateway.services.operations.flushed()
      expect(h.received).toHaveLength(0)
    })

    it('a gateway restart resumes at the fold it was in: finished children are read, not run again', async () => {
      const g = await gateway()
      let refuse: (() => void) | null = null
      // Fold 1 trains and tests, then the host refuses everything: fold 2's training waits in the queue.
      const first = await host(g, 'host-1', {
        onEnd: (r: DispatchRequest) => {
          if (r.function.name === 'backtest') refuse?.()
        },
      })
      refuse = () => (first.state.refuse = true)
      const id = (await g.api('/api/v1/walkforward', { body: { ...BODY, max_parallel: 1 } })).body.operation_id
      const before = await until(async () => {
        const w = await wfOf(g, id)
        return w.children['fold_2:train'] ? w : null
      })
      expect(Object.keys(before.settled).sort()).toEqual(['fold_1:backtest', 'fold_1:train'])
      first.kill()
      await g.close(true)

      const again = await startWalkForwardGateway(g.dir, g.config)
      cleanups.push(() => again.close())
      expect((await wfOf(again, id)).status).toBe('running')
      const second = await host(again, 'host-2')
      const wf = await finished(again, id)
      expect(wf.status, JSON.stringify(wf.error)).toBe('completed')
      for (const key of ['fold_1:train', 'fold_1:backtest', 'fold_2:train']) expect(wf.children[key]).toBe(before.children[key])
      const children = await childrenOf(again, id)
      expect(children).toHaveLength(8)
      expect(new Set(children.map((c) => (c.metadata as any).task)).size).toBe(8)
      // The second host ran everything from fold 2 on, and nothing of fold 1.
      const ran = second.received.map((r) => `${r.function.name}:${(r.input as any).start_date}`)
      expect(ran).toHaveLength(6)
      expect(ran).not.toContain(`backtest:${TEST_STARTS[0]}`)
      expect(ran).not.toContain('train:2020-01-01')
      expect(wf.summary.stitched.EURUSD.bars).toBe(16)
    })

    it('bad inputs: 4xx naming the field, nothing started', async () => {
      const g = await gateway()
      await host(g, 'host-1')
      const cases: Array<[unknown, number, string]> = [
        [{ ...BODY, strategy: undefined }, 400, 'strategy'],
        [{ ...BODY, strategy: '../etc' }, 400, 'strategy'],
        [{ ...BODY, strategy: 'nope' }, 404, 'strategy'],
        [{ ...BODY, train_window: undefined }, 400, 'train_window'],
        [{ ...BODY, train_window: '30 days' }, 400, 'train_window'],
        [{ ...BODY, test_window: '0d' }, 400, 'test_window'],
        [{ ...BODY, step: '1w' }, 400, 'step'],
        [{ ...BODY, step: '1d', test_window: '1d', start_date: '2020-01-01', end_date: '2020-05-20', train_window: '7d' }, 400, 'step'],
        [{ ...BODY, mode: 'sideways' }, 400, 'mode'],
        [{ ...BODY, start_date: '2020-02-30' }, 400, 'start_date'],
        [{ ...BODY, end_date: '2019-12-31' }, 400, 'end_date'],
        [{ ...BODY, start_date: '2019-06-01' }, 422, 'start_date'],
        [{ ...BODY, end_date: '2031-01-01' }, 422, 'end_date'],
        [{ ...BODY, train_window: '1y' }, 422, 'train_window'],
        [{ ...BODY, symbol: 'GBPUSD' }, 404, 'symbol'],
        [{ ...BODY, symbols: ['EURUSD', 'bad symbol'] }, 400, 'symbols.1'],
        [{ ...BODY, symbol: 'EURUSD', symbols: ['EURUSD'] }, 400, 'symbol'],
        [{ ...BODY, timeframe: '2h' }, 400, 'timeframe'],
        [{ ...BODY, timeframe: '4h' }, 404, 'timeframe'],
        [{ ...BODY, epochs: 0 }, 400, 'epochs'],
        [{ ...BODY, epochs: 1.5 }, 400, 'epochs'],
        [{ ...BODY, commission: 2 }, 400, 'commission'],
        [{ ...BODY, max_parallel: 0 }, 400, 'max_parallel'],
        [{ ...BODY, colour: 'red' }, 400, 'colour'],
      ]
      for (const [body, status, field] of cases) {
        const res = await g.api('/api/v1/walkforward', { body })
        expect(res.status, JSON.stringify(body)).toBe(status)
        expect(res.body.details?.field, JSON.stringify(res.body)).toBe(field)
        expect(res.body.message, JSON.stringify(body)).toContain(field)
      }
      const array = await g.api('/api/v1/walkforward', { body: [1, 2] })
      expect(array.status).toBe(400)
      expect(array.body.message).toMatch(/body must be a JSON object/)
      expect((await g.api('/api/v1/walkforward')).body.total_count).toBe(0)
      expect((await g.api('/api/v1/walkforward/op_walkforward_nope')).status).toBe(404)
      expect((await g.api('/api/v1/walkforward/op_walkforward_nope', { method: 'DELETE' })).status).toBe(404)
      for (const [path, field] of [
        ['/api/v1/walkforward?limit=0', 'limit'],
        ['/api/v1/walkforward?status=done', 'status'],
      ]) {
        const res = await g.api(path)
        expect(res.status, path).toBe(400)
        expect(res.body.details?.field, path).toBe(field)
      }
    })
  })
}
