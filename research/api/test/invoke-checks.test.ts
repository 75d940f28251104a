// train and backtest inputs that the function would refuse on the host are refused by the gateway
// before the 202 (research/api/invoke-checks.ts), with the code the host would have used, and no
// operation is created. A real gateway with the research routes, storage on a temp dir.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation } from '../../../runtime/protocol/index.ts'
import { startTestGateway, type TestGateway } from '../../../test/kit/index.ts'
import { generateSyntheticSeries, recordModelVersion, saveBars } from '../../../trading/index.ts'
import { researchRoutes } from '../../index.ts'

const MINIMAL = readFileSync(join(import.meta.dirname, '../../../examples/strategies/v3_minimal.yaml'), 'utf8')

let g: TestGateway
beforeAll(async () => {
  g = await startTestGateway({ routes: researchRoutes })
  const { storage } = g.gateway.services
  await storage.strategies.setItem('v3_minimal.yaml', MINIMAL)
  await saveBars(storage.data, generateSyntheticSeries({ symbol: 'EURUSD', timeframe: '1h', bars: 300, seed: 1 }))
  // What the check reads of a trained model: its metadata (the weights are the host's business).
  await storage.models.setItem('v3_minimal/1h_v1/metadata.json', {
    training_symbols: ['EURUSD'],
    training_timeframes: ['1h'],
    base_timeframe: '1h',
  })
  // Its latest pointers, as training records them (per symbol set, and the one of any set).
  await recordModelVersion(storage, 'v3_minimal', '1h', 1)
})
afterAll(async () => {
  await g?.close()
})

const invoke = (fn: string, input: Record<string, unknown>) =>
  g.api<Operation & { code?: string; message?: string; details?: { field?: string }; warnings?: string[] }>(
    `/api/v1/functions/${fn}/invoke`,
    { body: { input } },
  )

async function refused(fn: string, input: Record<string, unknown>, status: number, code: string, message: RegExp) {
  const before = (await g.api<{ total_count: number }>('/api/v1/operations')).body.total_count
  const r = await invoke(fn, input)
  expect(r.status, JSON.stringify(r.body)).toBe(status)
  expect(r.body.code).toBe(code)
  expect(r.body.message).toMatch(message)
  expect((await g.api<{ total_count: number }>('/api/v1/operations')).body.total_count).toBe(before)
  return r.body
}

describe('train, checked before the 202', () => {
  it('a strategy that is not stored, a strategy that does not validate', async () => {
    await refused(
      'train',
      { strategy_name: 'no_such_strategy' },
      404,
      'STRATEGY_NOT_FOUND',
      /"no_such_strategy" is not in the strategies store/,
    )
    await refused('train', { strategy_yaml: 'name: broken\nindicators: []\n' }, 422, 'STRATEGY_INVALID', /not a v3 strategy/)
  })

  it('no data for a symbol or timeframe the run reads, with the overrides applied', async () => {
    await refused('train', { strategy_name: 'v3_minimal', symbols: ['GBPUSD'] }, 404, 'DATA_NOT_FOUND', /No cached data for GBPUSD 1h/)
    await refused('train', { strategy_name: 'v3_minimal', timeframes: ['1h', '4h'] }, 404, 'DATA_NOT_FOUND', /No cached data for EURUSD 4h/)
  })

  it('dates: order and form, named by field', async () => {
    const body = await refused(
      'train',
      { strategy_name: 'v3_minimal', start_date: '2024-06-01', end_date: '2024-01-31' },
      400,
      'DATA_INVALID_RANGE',
      /start_date 2024-06-01 is after end_date 2024-01-31/,
    )
    expect(body.details?.field).toBe('start_date')
    await refused('train', { strategy_name: 'v3_minimal', end_date: 'soon' }, 400, 'DATA_INVALID_DATE', /end_date "soon" is not a date/)
    // A day its month lacks was read as the next month's (2021-02-30 → March 2) and trained on.
    await refused(
      'train',
      { strategy_name: 'v3_minimal', end_date: '2021-02-30' },
      400,
      'DATA_INVALID_DATE',
      /end_date "2021-02-30" is not a date/,
    )
    await refused(
      'backtest',
      { strategy_name: 'v3_minimal', start_date: '2100-02-29' },
      400,
      'DATA_INVALID_DATE',
      /start_date "2100-02-29"/,
    )
    // A date-only end covers its whole day: the same day as start is a valid one-day window.
    expect(
      (await invoke('train', { strategy_name: 'v3_minimal', start_date: '2024-01-31T12:00:00Z', end_date: '2024-01-31' })).status,
    ).toBe(202)
  })

  it('a sound input is accepted, and the guide route refuses what invoke refuses', async () => {
    const ok = await invoke('train', { strategy_name: 'v3_minimal', symbols: ['EURUSD'], timeframes: ['1h'], epochs: 2 })
    expect(ok.status).toBe(202)
    expect(ok.body.status).toBe('pending')
    const guide = await g.api('/api/v1/trainings/start', { body: { strategy_name: 'missing_one', symbols: ['EURUSD'], timeframe: '1h' } })
    expect(guide.status).toBe(404)
    expect(guide.body.code).toBe('STRATEGY_NOT_FOUND')
  })
})

describe('backtest, checked before the 202', () => {
  it('a model that does not exist, by strategy_name or model_path', async () => {
    await refused('backtest', { strategy_name: 'ghost', timeframe: '1h' }, 404, 'MODEL_NOT_FOUND', /No trained model yet for ghost on 1h/)
    await refused('backtest', { model_path: 'v3_minimal/1h_v7' }, 404, 'MODEL_NOT_FOUND', /No complete model at models\/v3_minimal\/1h_v7/)
  })

  it("data for the symbol, the model's timeframe, and the date order", async () => {
    // The latest model means the one trained on a symbol set holding the symbol, as on the host.
    await refused(
      'backtest',
      { strategy_name: 'v3_minimal', symbol: 'USDJPY' },
      404,
      'MODEL_SET_NOT_FOUND',
      /No model of v3_minimal on 1h was trained on a symbol set containing USDJPY/,
    )
    await refused('backtest', { model_path: 'v3_minimal/1h_v1', symbol: 'USDJPY' }, 404, 'DATA_NOT_FOUND', /No cached data for USDJPY 1h/)
    await refused('backtest', { model_path: 'v3_minimal/1h_latest', timeframe: '4h' }, 422, 'INPUT_INVALID', /base timeframe 1h/)
    await refused(
      'backtest',
      { strategy_name: 'v3_minimal', start_date: '2025-01-01', end_date: '2024-01-01' },
      400,
      'DATA_INVALID_RANGE',
      /start_date 2025-01-01 is after end_date 2024-01-01/,
    )
  })

  it("a sound input is accepted; an absolute model_path outside the gateway's models folder is left to the host", async () => {
    expect((await invoke('backtest', { strategy_name: 'v3_minimal', start_date: '2024-01-01' })).status).toBe(202)
    expect((await invoke('backtest', { model_path: 'v3_minimal/1h_v1', symbol: 'EURUSD' })).status).toBe(202)
    expect((await invoke('backtest', { model_path: '/models/ktrdr/neuro_mean_reversion/1d_v21', symbol: 'EURUSD' })).status).toBe(202)
  })
})
