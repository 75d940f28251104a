// Sweeps with fake functions on the gateway's SQLite (the table they share with walk-forwards is
// exercised on PostgreSQL by research/walkforward/test/postgres.cluster.test.ts): trainings and
// backtests as children, the table named by parameters, baselines beside, the best marked.
import { afterEach, describe, expect, it } from 'vitest'
import { until } from '../../../test/kit/index.ts'
import { startFakeTrainingHost, startWalkForwardGateway, type FakeMarket } from '../../parents/test/_fake-cluster.ts'
import { parentOps } from '../../parents/test/_parent-ops.ts'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

type G = Awaited<ReturnType<typeof startWalkForwardGateway>>
async function cluster(market?: FakeMarket, hosts = 2) {
  const g = await startWalkForwardGateway()
  cleanups.push(() => g.close())
  for (let i = 1; i <= hosts; i++) {
    const h = await startFakeTrainingHost(g, `host-${i}`, market, 2)
    cleanups.push(() => h.close())
  }
  return g
}
const { of: sweepOf, finished, childrenOf } = parentOps('sweeps')
async function start(g: G, body: unknown) {
  const res = await g.api('/api/v1/sweeps', { body })
  expect(res.status, JSON.stringify(res.body)).toBe(202)
  return res.body
}

const WINDOWS = { training: { end_date: '2020-02-29', epochs: 2 }, backtest: { start_date: '2020-03-01', end_date: '2020-03-31' } }
// The fake backtest's return follows the training's learning rate and first hidden layer: 1000·lr + layer/16.
const lr = (yaml: string) => Number(/learning_rate: ([\d.e-]+)/.exec(yaml)?.[1])
const layer = (yaml: string) => Number(/hidden_layers:\s*\n?\s*(?:- |\[)(\d+)/.exec(yaml)?.[1])
const byTraining: FakeMarket = { returnPct: (_s, _set, input) => 1000 * lr(input.strategy_yaml) + layer(input.strategy_yaml) / 16 }

describe('sweeps (fake functions)', () => {
  it('a training grid: a training and a backtest child per combination, a row per run named by its parameters, the best marked', async () => {
    const g = await cluster(byTraining)
    const body = await start(g, {
      strategy: 'regime_momentum',
      ...WINDOWS,
      training: {
        ...WINDOWS.training,
        parameters: {
          learning_rate: [0.001, 0.005],
          hidden_layers: [
            [16, 8],
            [64, 32],
          ],
        },
      },
    })
    expect(body.operation_id).toMatch(/^op_sweep_\d{8}_\d{6}_[0-9a-f]{8}$/)
    const s = await finished(g, body.operation_id)
    expect(s.status, JSON.stringify(s.error)).toBe('completed')

    const children = await childrenOf(g, s.operation_id)
    expect(children.map((c) => c.function.name).sort()).toEqual([...new Array(4).fill('backtest'), ...new Array(4).fill('train')])
    for (const c of children) expect(c).toMatchObject({ status: 'completed', parent_operation_id: s.operation_id })
    expect(new Set(children.map((c) => c.worker_id))).toEqual(new Set(['host-1', 'host-2']))
    const trains = children.filter((c) => c.function.name === 'train')
    for (const t of trains) {
      const yaml = (t.input as any).strategy_yaml as string
      expect(yaml).toMatch(new RegExp(`^name: ${s.model_name.replace('.', '\\.')}$`, 'm'))
      expect(t.input).toMatchObject({ end_date: '2020-02-29', epochs: 2, symbols: ['EURUSD'] })
    }
    expect(trains.map((t) => `${lr((t.input as any).strategy_yaml)}/${layer((t.input as any).strategy_yaml)}`).sort()).toEqual([
      '0.001/16',
      '0.001/64',
      '0.005/16',
      '0.005/64',
    ])
    for (const c of children.filter((x) => x.function.name === 'backtest'))
      expect(c.input).toMatchObject({ start_date: '2020-03-01', end_date: '2020-03-31', require_out_of_sample: true })

    expect(s.table.map((r: any) => r.name)).toEqual([
      'lr=0.001,hidden=16-8',
      'lr=0.001,hidden=64-32',
      'lr=0.005,hidden=16-8',
      'lr=0.005,hidden=64-32',
    ])
    expect(s.table.map((r: any) => r.metrics.total_return_pct)).toEqual([2, 5, 6, 9])
    expect(s.table[3]).toMatchObject({
      status: 'completed',
      best: true,
      training_params: { learning_rate: 0.005, hidden_layers: [64, 32] },
      metrics: { sharpe_ratio: 4.5 },
      baselines: { buy_and_hold_pct: 1.5, random_p50_pct: 0.1 },
      excess_return_pct: 7.5,
      training_metrics: { test_accuracy: 0.52, majority_baseline: 0.45 },
      overlap_bars: 0,
    })
    expect(s.table.filter((r: any) => r.best)).toHaveLength(1)
    expect(s.summary).toMatchObject({
      runs: 4,
      completed: 4,
      failed: 0,
      rank_by: 'sharpe_ratio',
      best: { name: 'lr=0.005,hidden=64-32', value: 4.5 },
    })

    const csv = (await g.api<string>(`/api/v1/results/sweeps/${s.operation_id}/table.csv`)).body.trim().split('\n')
    expect(csv[0]).toMatch(/^name,learning_rate,hidden_layers,status,total_return_pct,.*,buy_and_hold_pct,random_p50_pct,.*,best,error$/)
    expect(csv.slice(1).map((l) => /^"([^"]+)"/.exec(l)?.[1])).toEqual(s.table.map((r: any) => r.name))
    expect(csv[4]).toMatch(/,best,$/)
    const summary = (await g.api(`/api/v1/results/sweeps/${s.operation_id}/summary.json`)).body
    expect(summary).toMatchObject({ operation_id: s.operation_id, best: { name: 'lr=0.005,hidden=64-32' }, table: expect.any(Array) })
    expect((await g.api('/api/v1/sweeps')).body).toMatchObject({
      total_count: 1,
      limit: 50,
      offset: 0,
      data: [{ operation_id: s.operation_id }],
    })
  })

  it('position-manager parameters of an existing model: parameter_sets shared out over the hosts, no training', async () => {
    const g = await cluster({ returnPct: (_s, set) => 10 * set!.confidence_threshold - set!.min_signal_separation })
    await g.gateway.services.storage.models.setItem('regime_momentum/1h_v1/metadata.json', '{}')
    const body = await start(g, {
      strategy: 'regime_momentum',
      backtest: {
        start_date: '2020-03-01',
        model_path: 'regime_momentum/1h_v1',
        parameters: { confidence_threshold: [0.4, 0.5, 0.6], min_signal_separation: [0, 4] },
      },
      rank_by: 'total_return_pct',
    })
    const s = await finished(g, body.operation_id)
    expect(s.status, JSON.stringify(s.error)).toBe('completed')
    const children = await childrenOf(g, s.operation_id)
    // Six sets over four slots: three children of two sets each, every one on the given model.
    expect(children).toHaveLength(3)
    for (const c of children) {
      expect(c.function.name).toBe('backtest')
      expect((c.input as any).model_path).toBe('regime_momentum/1h_v1')
      expect((c.input as any).parameter_sets).toHaveLength(2)
    }
    expect(s.trainings).toEqual([])
    expect(s.model_name).toBeNull()
    expect(s.table.map((r: any) => `${r.name}=${r.metrics.total_return_pct}`)).toEqual([
      'conf=0.4,sep=0=4',
      'conf=0.4,sep=4=0',
      'conf=0.5,sep=0=5',
      'conf=0.5,sep=4=1',
      'conf=0.6,sep=0=6',
      'conf=0.6,sep=4=2',
    ])
    expect(s.table.find((r: any) => r.best).name).toBe('conf=0.6,sep=0')
    const sets = children.flatMap((c) => (c.input as any).parameter_sets)
    expect(sets).toContainEqual({ name: 'conf=0.6,sep=0', confidence_threshold: 0.6, min_signal_separation: 0 })
  })

  it('random search: seeded draws, the same seed the same runs; a range only with random search', async () => {
    const g = await cluster()
    const body = {
      strategy: 'regime_momentum',
      ...WINDOWS,
      training: {
        ...WINDOWS.training,
        parameters: { learning_rate: { min: 0.0005, max: 0.01, log: true }, zigzag_threshold: [0.01, 0.02] },
      },
      search: { method: 'random', samples: 4, seed: 11 },
    }
    const a = await start(g, body)
    const b = await start(g, body)
    const names = (x: any) => x.trainings.map((t: any) => t.name)
    expect(names(a)).toHaveLength(4)
    expect(names(a)).toEqual(names(b))
    for (const t of a.trainings) {
      expect(t.params.learning_rate).toBeGreaterThanOrEqual(0.0005)
      expect(t.params.learning_rate).toBeLessThanOrEqual(0.01)
      expect(String(t.params.learning_rate).replace(/^0\.0*/, '').length).toBeLessThanOrEqual(4)
      expect([0.01, 0.02]).toContain(t.params.zigzag_threshold)
      expect(t.name).toBe(`lr=${t.params.learning_rate},zz=${t.params.zigzag_threshold}`)
    }
    expect(names(await start(g, { ...body, search: { ...body.search, seed: 12 } }))).not.toEqual(names(a))
    for (const id of [a.operation_id, b.operation_id]) expect((await finished(g, id)).status).toBe('completed')
  })

  it('a failed training is a failed row; the sweep completes with the others, and fails only when every run failed', async () => {
    const g = await cluster({ failTraining: (yaml) => /learning_rate: 0.5$/m.test(yaml) })
    const body = { strategy: 'regime_momentum', ...WINDOWS, training: { ...WINDOWS.training, parameters: { learning_rate: [0.001, 0.5] } } }
    const s = await finished(g, (await start(g, body)).operation_id)
    expect(s.status).toBe('completed')
    expect(s.table.map((r: any) => [r.name, r.status])).toEqual([
      ['lr=0.001', 'completed'],
      ['lr=0.5', 'failed'],
    ])
    expect(s.table[1].error).toMatch(/training lr=0.5 failed .*the loss became NaN/)
    // Its backtest never started: three children.
    expect(await childrenOf(g, s.operation_id)).toHaveLength(3)
    expect(s.summary).toMatchObject({ completed: 1, failed: 1, best: { name: 'lr=0.001' } })
    const all = await finished(
      g,
      (await start(g, { ...body, training: { ...body.training, parameters: { learning_rate: [0.5] } } })).operation_id,
    )
    expect(all.status).toBe('failed')
    expect(all.error).toMatchObject({ code: 'NAN_LOSS', message: expect.stringContaining('every run of the sweep failed') })
  })

  it('cancel: the sweep and its pending children', async () => {
    const g = await startWalkForwardGateway()
    cleanups.push(() => g.close())
    const body = await start(g, {
      strategy: 'regime_momentum',
      ...WINDOWS,
      training: { ...WINDOWS.training, parameters: { learning_rate: [0.001, 0.002, 0.003] } },
      max_parallel: 2,
    })
    const started = await until(async () => {
      const ids = Object.values((await sweepOf(g, body.operation_id)).children) as string[]
      return ids.length === 2 ? ids : null
    })
    const res = await g.api(`/api/v1/sweeps/${body.operation_id}`, { method: 'DELETE' })
    expect(res.body).toMatchObject({ status: 'cancelled' })
    expect([...res.body.cancelled_children].sort()).toEqual([...started].sort())
    for (const c of await childrenOf(g, body.operation_id)) expect(c.status).toBe('cancelled')
    expect((await g.api(`/api/v1/sweeps/${body.operation_id}`, { method: 'DELETE' })).status).toBe(400)
  })

  it('bad inputs: 4xx naming the field, nothing started', async () => {
    const g = await cluster()
    const T = WINDOWS.training
    const cases: Array<[unknown, number, string]> = [
      [{ strategy: 'regime_momentum', ...WINDOWS }, 400, 'training.parameters'],
      [{ strategy: 'nope', ...WINDOWS, training: { ...T, parameters: { learning_rate: [0.1] } } }, 404, 'strategy'],
      [
        { strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { momentum: [0.9] } } },
        400,
        'training.parameters.momentum',
      ],
      [
        { strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { learning_rate: [] } } },
        400,
        'training.parameters.learning_rate',
      ],
      [
        { strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { learning_rate: ['fast'] } } },
        400,
        'training.parameters.learning_rate',
      ],
      [
        { strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { learning_rate: [-1] } } },
        422,
        'training.parameters.learning_rate',
      ],
      [
        { strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { hidden_layers: [[0]] } } },
        400,
        'training.parameters.hidden_layers',
      ],
      [
        { strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { pt_multiplier: [1, 2] } } },
        400,
        'training.parameters.pt_multiplier',
      ],
      [
        { strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { learning_rate: { min: 0.1, max: 1 } } } },
        400,
        'training.parameters.learning_rate',
      ],
      [
        {
          strategy: 'regime_momentum',
          ...WINDOWS,
          training: { ...T, parameters: { learning_rate: { min: 1, max: 0.1 } } },
          search: { method: 'random' },
        },
        400,
        'training.parameters.learning_rate',
      ],
      [
        { strategy: 'regime_momentum', ...WINDOWS, backtest: { ...WINDOWS.backtest, parameters: { stop_loss: [0.1] } } },
        400,
        'backtest.parameters.stop_loss',
      ],
      [
        {
          strategy: 'regime_momentum',
          training: { ...T, end_date: '2020-03-15', parameters: { learning_rate: [0.1] } },
          backtest: WINDOWS.backtest,
        },
        422,
        'backtest.start_date',
      ],
      [
        { strategy: 'regime_momentum', training: { parameters: { learning_rate: [0.1] } }, backtest: WINDOWS.backtest },
        400,
        'training.end_date',
      ],
      [
        {
          strategy: 'regime_momentum',
          backtest: { ...WINDOWS.backtest, model_path: 'nope/1h_v9', parameters: { confidence_threshold: [0.5] } },
        },
        404,
        'backtest.model_path',
      ],
      [
        { strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { learning_rate: new Array(101).fill(0.1) } } },
        400,
        'training.parameters.learning_rate',
      ],
      [
        {
          strategy: 'regime_momentum',
          ...WINDOWS,
          training: { ...T, parameters: { learning_rate: Array.from({ length: 20 }, (_, i) => (i + 1) / 1000) } },
          backtest: { ...WINDOWS.backtest, parameters: { confidence_threshold: Array.from({ length: 60 }, (_, i) => i / 100) } },
        },
        400,
        'backtest.parameters',
      ],
      [
        { strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { learning_rate: [0.1] } }, rank_by: 'luck' },
        400,
        'rank_by',
      ],
      [
        { strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { learning_rate: [0.1] } }, search: { samples: 3 } },
        400,
        'search.samples',
      ],
      [{ strategy: 'regime_momentum', ...WINDOWS, training: { ...T, parameters: { learning_rate: [0.1] } }, colour: 1 }, 400, 'colour'],
    ]
    for (const [body, status, field] of cases) {
      const res = await g.api('/api/v1/sweeps', { body })
      expect(res.status, JSON.stringify(res.body)).toBe(status)
      expect(res.body.details?.field ?? res.body.message, JSON.stringify(res.body)).toContain(field)
      expect(res.body.message, JSON.stringify(body)).toContain(field)
    }
    expect((await g.api('/api/v1/sweeps')).body.total_count).toBe(0)
    expect((await g.api('/api/v1/sweeps/op_sweep_nope')).status).toBe(404)
  })
})
