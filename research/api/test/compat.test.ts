// The deployment guide's endpoints (compat.ts) mapped onto the trading functions: a real gateway
// with the research routes, fake hosts that accept whatever they are sent.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startFakeHost, startTestGateway, type TestGateway } from '../../../test/kit/index.ts'
import { generateSyntheticSeries, saveBars } from '../../../trading/index.ts'
import { researchRoutes } from '../../index.ts'

const MINIMAL = readFileSync(join(import.meta.dirname, '../../../examples/strategies/v3_minimal.yaml'), 'utf8')

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function gw(): Promise<TestGateway> {
  const g = await startTestGateway({ routes: researchRoutes })
  cleanups.push(() => g.close())
  return g
}
async function host(g: TestGateway, workerId: string, extra: Partial<Parameters<typeof startFakeHost>[0]> = {}) {
  const h = await startFakeHost({ gatewayUrl: g.url, workerId, ...extra })
  cleanups.push(() => h.close())
  return h
}

describe('compat routes', () => {
  it('compat routes map onto functions; trainings/start names the worker', async () => {
    const g = await gw()
    // The gateway checks train and backtest inputs before the 202: the data they read must exist.
    await saveBars(g.gateway.services.storage.data, generateSyntheticSeries({ symbol: 'EURUSD', timeframe: '1h', bars: 200, seed: 3 }))
    await host(g, 'gpu-1', { workerType: 'training', capabilities: { gpu: true } })
    await host(g, 'cpu-1', { workerType: 'training' })
    const t = await g.api('/api/v1/trainings/start', {
      body: { strategy_yaml: MINIMAL, symbols: ['EURUSD'], timeframe: '1h', prefer_gpu: true },
    })
    expect(t.status, JSON.stringify(t.body)).toBe(202)
    expect(t.body.success).toBe(true)
    expect(t.body.worker_id).toBe('gpu-1')
    expect(t.body.operation_id).toMatch(/^op_training_/)
    expect(t.body.input).toEqual({ strategy_yaml: MINIMAL, symbols: ['EURUSD'], timeframes: ['1h'] })
    // The guide's body: its absolute model_path names the hosts' models folder, which only a host can check.
    const b = await g.api('/api/v1/backtests/start', {
      body: {
        model_path: '/models/ktrdr/neuro_mean_reversion/1d_v21',
        strategy_name: 'neuro_mean_reversion',
        symbol: 'EURUSD',
        timeframe: '1d',
        start_date: '2024-01-01',
        end_date: '2024-12-31',
      },
    })
    expect(b.status).toBe(202)
    expect(b.body.operation_id).toMatch(/^op_backtesting_/)
    expect(b.body.input.symbol).toBe('EURUSD')
    const d = await g.api('/api/v1/data/acquire/download', { body: { symbol: 'AAPL', timeframe: '1h' } })
    expect(d.body.operation_id).toMatch(/^op_data_load_/)
  })

  it('are not served by a gateway started without the research routes', async () => {
    const g = await startTestGateway()
    cleanups.push(() => g.close())
    expect((await g.api('/api/v1/trainings/start', { body: { strategy_name: 's', symbols: ['EURUSD'], timeframe: '1h' } })).status).toBe(
      404,
    )
  })
})
