import { createServer, type Server } from 'node:http'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createApp, toNodeListener } from 'h3'
import { createPolicyRouter } from '../../../runtime/http/index.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KtrdrStorage } from '../../../storage/index.ts'
import { sendGatewayError } from '../../../runtime/gateway/index.ts'
import dataRoutes from '../data.ts'
import strategyRoutes from '../strategies.ts'
import type { GatewayRouteContext } from '../../../runtime/gateway/index.ts'
import { generateSyntheticSeries, saveBars } from '../../../trading/index.ts'
import { api, seriesFromCloses, tempStorage, type TempStorage } from '../../../test/kit/index.ts'

// The two route modules on a bare h3 app with the gateway's error shape, on a loopback port.
let server: Server
let base: string
let storage: KtrdrStorage
let temp: TempStorage

beforeAll(async () => {
  temp = await tempStorage('ktrdr-routes-')
  storage = temp.storage
  await saveBars(
    storage.data,
    seriesFromCloses(
      Array.from({ length: 48 }, (_, i) => 1 + i / 100),
      { symbol: 'EURUSD', start: Date.UTC(2024, 0, 1) },
    ),
  )
  await saveBars(storage.data, generateSyntheticSeries({ symbol: 'SYN', timeframe: '1d', bars: 10, seed: 3 }), {
    meta: { synthetic: true, generator: 'test', seed: 3, preset: 'forex' },
  })
  await storage.strategies.setItemRaw(
    'v3_minimal.yaml',
    readFileSync(join(import.meta.dirname, '../../../examples/strategies/v3_minimal.yaml')),
  )
  const app = createApp({ onError: (error, event) => sendGatewayError(error, event) })
  // No token check here: these tests are about the routes' answers (test/security covers auth).
  const router = createPolicyRouter(() => {}, { auth: 'api', body: 'json' })
  const ctx = { storage } as unknown as GatewayRouteContext
  dataRoutes(router, ctx)
  strategyRoutes(router, ctx)
  app.use(router.handler)
  server = createServer(toNodeListener(app))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const addr = server.address() as { port: number }
  base = `http://127.0.0.1:${addr.port}`
})

afterAll(async () => {
  await new Promise((r) => server.close(r))
  await temp.cleanup()
})

const get = (path: string) => api(base, path)

describe('GET /api/v1/data', () => {
  it('lists datasets with the synthetic flag', async () => {
    const { status, body } = await get('/api/v1/data')
    expect(status).toBe(200)
    expect(body.data).toEqual([
      {
        symbol: 'EURUSD',
        timeframe: '1h',
        key: 'EURUSD_1h.csv',
        start: '2024-01-01T00:00:00Z',
        end: '2024-01-02T23:00:00Z',
        bars: 48,
        synthetic: false,
      },
      expect.objectContaining({ symbol: 'SYN', timeframe: '1d', bars: 10, synthetic: true, seed: 3 }),
    ])
  })

  it('returns bars in the docs/domain.md#rest-api shape with an inclusive range and limit', async () => {
    const { status, body } = await get('/api/v1/data/EURUSD/1h?start_date=2024-01-02&end_date=2024-01-02&limit=5')
    expect(status).toBe(200)
    expect(body.success).toBe(true)
    expect(body.data.dates).toEqual([
      '2024-01-02T19:00:00Z',
      '2024-01-02T20:00:00Z',
      '2024-01-02T21:00:00Z',
      '2024-01-02T22:00:00Z',
      '2024-01-02T23:00:00Z',
    ])
    expect(body.data.ohlcv[4][3]).toBeCloseTo(1.47, 12)
    expect(body.data.metadata).toEqual({
      symbol: 'EURUSD',
      timeframe: '1h',
      start: '2024-01-02T19:00:00Z',
      end: '2024-01-02T23:00:00Z',
      points: 5,
      synthetic: false,
    })
  })

  it('says synthetic in the metadata', async () => {
    const { body } = await get('/api/v1/data/SYN/1d')
    expect(body.data.metadata).toMatchObject({ synthetic: true, points: 10, seed: 3 })
  })

  it('400 on bad symbol, timeframe, dates or limit; 404 when missing', async () => {
    expect((await get('/api/v1/data/EUR$USD/1h')).status).toBe(400)
    expect((await get('/api/v1/data/EURUSD/2h')).status).toBe(400)
    expect((await get('/api/v1/data/EURUSD/1h?start_date=yesterday')).status).toBe(400)
    expect((await get('/api/v1/data/EURUSD/1h?start_date=2024-02-01&end_date=2024-01-01')).status).toBe(400)
    expect((await get('/api/v1/data/EURUSD/1h?limit=0')).status).toBe(400)
    const missing = await get('/api/v1/data/GBPUSD/1h')
    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({ code: 'DATA_NOT_FOUND', retryable: false })
  })
})

describe('POST /api/v1/strategies/validate', () => {
  const yaml = readFileSync(join(import.meta.dirname, '../../../examples/strategies/v3_multi_indicator.yaml'), 'utf8')
  const post = (body: string, type: string) => api(base, '/api/v1/strategies/validate', { raw: body, contentType: type })

  it('accepts {yaml} and raw YAML', async () => {
    for (const [body, type] of [
      [JSON.stringify({ yaml }), 'application/json'],
      [yaml, 'text/yaml'],
    ]) {
      const r = await post(body, type)
      expect(r.status).toBe(200)
      expect(r.body.valid).toBe(true)
      expect(r.body.resolved_features).toHaveLength(6)
      expect(r.body.warnings).toEqual([])
      expect(r.body.notes.map((n: { path: string }) => n.path)).toEqual(['model.features', 'training.labels.label_lookahead'])
    }
  })

  it('validates {yaml, name} as the strategy registered under that name', async () => {
    const r = await post(JSON.stringify({ yaml, name: 'my_rsi.yaml' }), 'application/json')
    expect(r.status).toBe(200)
    expect(r.body.notes[0]).toMatchObject({
      path: 'name',
      file: 'my_rsi.yaml',
      message: expect.stringMatching(/name "v3_multi_indicator_example" differs from the file name: .* as "my_rsi"/),
    })
    expect((await post(JSON.stringify({ yaml, name: '../x' }), 'application/json')).status).toBe(400)
  })

  it('422 with located errors when invalid', async () => {
    const r = await post(yaml.replace('indicator: rsi_14', 'indicator: rsi_99'), 'text/yaml')
    expect(r.status).toBe(422)
    expect(r.body.valid).toBe(false)
    expect(r.body.errors).toEqual([
      expect.objectContaining({
        path: 'fuzzy_sets.rsi_14.indicator',
        line: expect.any(Number),
        message: expect.stringMatching(/unknown indicator "rsi_99"/),
      }),
    ])
  })

  it('400 on an unusable body', async () => {
    expect((await post('{not json', 'application/json')).status).toBe(400)
    expect((await post(JSON.stringify({ nope: 1 }), 'application/json')).status).toBe(400)
  })

  it('validates and lists strategies from the strategies mount', async () => {
    expect((await api(base, '/api/v1/strategies/validate/v3_minimal', { method: 'POST' })).status).toBe(200)
    expect((await get('/api/v1/strategies/v3_minimal/features')).body.data.resolved_features).toEqual([
      '1h_rsi_momentum_oversold',
      '1h_rsi_momentum_overbought',
    ])
    expect((await get('/api/v1/strategies')).body.data).toEqual([expect.objectContaining({ name: 'v3_minimal', valid: true, features: 2 })])
    expect((await get('/api/v1/strategies/nope')).status).toBe(404)
  })
})

describe('PUT /api/v1/strategies/:name', () => {
  const put = (name: string, body: string, type = 'text/yaml') =>
    api(base, `/api/v1/strategies/${name}`, { method: 'PUT', raw: body, contentType: type })
  const yaml = readFileSync(join(import.meta.dirname, '../../../examples/strategies/v3_multi_indicator.yaml'), 'utf8')

  it('stores a valid strategy (201), replaces it (200), and train/backtest read it by name', async () => {
    const created = await put('my_rsi', yaml)
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({
      success: true,
      name: 'my_rsi',
      file: 'my_rsi.yaml',
      created: true,
      strategy_name: 'my_rsi',
      renamed_from: 'v3_multi_indicator_example',
    })
    expect(created.body.resolved_features).toHaveLength(6)
    const replaced = await put('my_rsi', JSON.stringify({ yaml }), 'application/json')
    expect(replaced.status).toBe(200)
    expect(replaced.body.created).toBe(false)
    expect((await get('/api/v1/strategies/my_rsi/features')).body.data.count).toBe(6)
  })

  it('one name per strategy: the file name; a differing YAML name is rewritten in place, with a warning saying so', async () => {
    const { status, body } = await put('v3_multi_indicator', yaml)
    expect(status).toBe(201)
    const line = yaml.split('\n').findIndex((l) => l.startsWith('name:')) + 1
    expect(body.warnings).toEqual([
      {
        path: 'name',
        line,
        file: 'v3_multi_indicator.yaml',
        message:
          'name "v3_multi_indicator_example" was rewritten to "v3_multi_indicator", the file name it is stored under: train, backtest and the listings know it as "v3_multi_indicator"',
      },
    ])
    expect(body.notes.map((n: { path: string }) => n.path)).toEqual(['model.features', 'training.labels.label_lookahead'])
    // Only the name changed: comments and layout are the uploaded bytes.
    const stored = Buffer.from((await storage.strategies.getItemRaw('v3_multi_indicator.yaml')) as Uint8Array).toString('utf8')
    expect(stored).toBe(yaml.replace('name: v3_multi_indicator_example\n', 'name: v3_multi_indicator\n'))
    const shown = (await get('/api/v1/strategies/v3_multi_indicator')).body.data
    expect(shown).toMatchObject({ name: 'v3_multi_indicator', valid: true, warnings: [], strategy: { name: 'v3_multi_indicator' } })
    expect(shown.notes.map((n: { path: string }) => n.path)).not.toContain('name')
    const listed = (await get('/api/v1/strategies')).body.data.find((s: { name: string }) => s.name === 'v3_multi_indicator')
    expect(listed).toMatchObject({ file: 'v3_multi_indicator.yaml', strategy_name: 'v3_multi_indicator', valid: true })
    // A name that needs quoting stays a string.
    expect((await put('1e5', yaml)).status).toBe(201)
    const quoted = Buffer.from((await storage.strategies.getItemRaw('1e5.yaml')) as Uint8Array).toString('utf8')
    expect(quoted).toContain('name: "1e5"\n')
    expect((await get('/api/v1/strategies/1e5')).body.data.strategy.name).toBe('1e5')
  })

  it('a file placed in the mount by hand resolves to its file name too, with a note', async () => {
    await storage.strategies.setItemRaw('by_hand.yaml', Buffer.from(yaml))
    const shown = (await get('/api/v1/strategies/by_hand')).body.data
    expect(shown.strategy.name).toBe('by_hand')
    expect(shown.notes[0]).toMatchObject({ path: 'name', message: expect.stringMatching(/as "by_hand"/) })
  })

  it('refuses (422, nothing stored) a name that cannot be rewritten without changing another key', async () => {
    const aliased = yaml
      .replace('name: v3_multi_indicator_example\n', 'name: &n v3_multi_indicator_example\n')
      .replace('description: RSI momentum with ADX trend strength filter', 'description: *n')
    const { status, body } = await put('aliased', aliased)
    expect(status).toBe(422)
    expect(body).toMatchObject({ code: 'STRATEGY_NAME_MISMATCH', details: { name: 'aliased', yaml_name: 'v3_multi_indicator_example' } })
    expect(body.message).toMatch(/set name: aliased/)
    expect(await storage.strategies.hasItem('aliased.yaml')).toBe(false)
  })

  it('refuses an invalid strategy with 422 naming the problem, and stores nothing', async () => {
    const broken = yaml.replace('indicator: rsi_14\n', 'indicator: rsi_99\n')
    expect(broken).not.toBe(yaml)
    const { status, body } = await put('broken_one', broken)
    expect(status).toBe(422)
    expect(body.code).toBe('STRATEGY_INVALID')
    expect(body.message).toContain('rsi_99')
    expect(await storage.strategies.hasItem('broken_one.yaml')).toBe(false)
  })

  it('rejects bad names and empty bodies with 400', async () => {
    expect((await put('..%2Fescape', yaml)).status).toBe(400)
    expect((await put('empty', '')).status).toBe(400)
  })
})
