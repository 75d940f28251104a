// Market data written over the API (research/api/data-write.ts): a vendor CSV by PUT, validated
// and stored like `ktrdr data import`, and a synthetic set generated on the gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from '../../../test/kit/index.ts'
import { formatOhlcvCsv, generateSyntheticSeries, loadBars } from '../../../trading/index.ts'
import { researchRoutes } from '../../index.ts'

let g: TestGateway
beforeAll(async () => {
  g = await startTestGateway({ routes: researchRoutes })
})
afterAll(async () => {
  await g?.close()
})

const YAHOO = 'Date,Open,High,Low,Close,Adj Close,Volume\n'
const put = (path: string, csv: string) =>
  g.api(`/api/v1/data/${path}`, { method: 'PUT', raw: csv, headers: { 'content-type': 'text/csv' } })
const bars = (symbol: string, timeframe: string) => loadBars(g.gateway.services.storage.data, { symbol, timeframe })

describe('PUT /api/v1/data/:symbol/:timeframe', () => {
  it('stores a vendor CSV (201), replaces it (200) or merges it (?merge=true), like data import', async () => {
    const first = await put('AAPL/1d', `${YAHOO}2024-01-03,2,3,1.5,2.5,2.4,200\n2024-01-02,1,2,0.5,1.5,1.4,100\n`)
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    expect(first.body.data).toMatchObject({ key: 'AAPL_1d.csv', layout: 'yahoo', imported: 2, stored: 2, start: '2024-01-02T00:00:00Z' })
    expect((await bars('AAPL', '1d')).length).toBe(2)

    const merged = await put('AAPL/1d?merge=true', `${YAHOO}2024-01-04,3,4,2.5,3.5,3.4,300\n`)
    expect(merged.status).toBe(200)
    expect(merged.body.data).toMatchObject({ imported: 1, stored: 3, merged: true })

    const replaced = await put('AAPL/1d', `${YAHOO}2024-02-01,5,6,4.5,5.5,5.4,500\n`)
    expect(replaced.status).toBe(200)
    expect(replaced.body.data.stored).toBe(1)
    expect((await bars('AAPL', '1d')).length).toBe(1)
  })

  it('a row breaking high/low refuses the file with 422 naming its line; what was stored stays', async () => {
    await put('MSFT/1d', `${YAHOO}2024-01-02,1,2,0.5,1.5,1.4,100\n`)
    const r = await put('MSFT/1d?merge=true', `${YAHOO}2024-01-03,2,3,1.5,2.5,2.4,200\n2024-01-04,1,1.2,0.5,1.5,1.4,100\n`)
    expect(r.status).toBe(422)
    expect(r.body.code).toBe('DATA_INVALID')
    expect(r.body.message).toMatch(/line 3: high 1.2 is below max\(open, close\) 1.5.*nothing was written/)
    expect(r.body.details.issues).toEqual([{ line: 3, message: 'high 1.2 is below max(open, close) 1.5' }])
    const kept = await bars('MSFT', '1d')
    expect(kept.length).toBe(1)
  })

  it('unreadable rows are skipped and listed by line; an empty or unknown file is a 4xx', async () => {
    const r = await put(
      'IBM/1d',
      `${YAHOO}2024-01-02,1,2,0.5,1.5,1.4,100\nnot-a-date,1,2,0.5,1.5,1.4,100\n2024-01-04,1,x,0.5,1.5,1.4,100\n`,
    )
    expect(r.status).toBe(201)
    expect(r.body.data.imported).toBe(1)
    expect(r.body.warnings).toEqual([
      'line 3: unreadable time "not-a-date" (row skipped)',
      'line 4: open/high/low/close/volume must be numbers (row skipped)',
    ])
    expect((await put('IBM/1d', '')).status).toBe(400)
    expect((await put('IBM/1d', YAHOO)).status).toBe(400)
    const unreadable = await put('IBM/1d', `${YAHOO}2024-01-02,1,2,0.5,1.5,1.4,100\n2024-01-03,1,2,0.5,1.5,1.4,oops\n`)
    expect(unreadable.status).toBe(200)
    expect(unreadable.body.warnings).toEqual(['line 3: open/high/low/close/volume must be numbers (row skipped)'])
    const none = await put('IBM/1d', `${YAHOO}2024-01-02,1,2,0.5,x,1.4,100\n`)
    expect(none.status).toBe(422)
    expect(none.body.message).toMatch(/No readable rows \(line 2: open\/high\/low\/close\/volume must be numbers\): nothing was written/)
    expect((await put('IBM/1d?merge=maybe', `${YAHOO}2024-01-02,1,2,0.5,1.5,1.4,100\n`)).status).toBe(400)
    expect((await put('bad%2Fsymbol/1d', `${YAHOO}2024-01-02,1,2,0.5,1.5,1.4,100\n`)).status).toBe(400)
    expect((await put('IBM/2h', `${YAHOO}2024-01-02,1,2,0.5,1.5,1.4,100\n`)).status).toBe(400)
  })

  it('concurrent merges of one dataset keep every row (uploads of one dataset take turns)', async () => {
    const series = generateSyntheticSeries({ symbol: 'EURUSD', timeframe: '1h', bars: 400, seed: 5 })
    const csv = formatOhlcvCsv(series)
    const [head, ...rows] = csv.trim().split('\n')
    // Eight runs of 50 consecutive bars (each spaced 1h, as an import of 1h bars must be).
    const parts = Array.from({ length: 8 }, (_, k) => [head, ...rows.slice(k * 50, (k + 1) * 50)].join('\n') + '\n')
    const answers = await Promise.all(parts.map((part) => put('EURUSD/1h?merge=true', part)))
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201])
    const stored = await bars('EURUSD', '1h')
    expect(stored.length).toBe(400)
    expect(Array.from(stored.close)).toEqual(Array.from(series.close))
  })
})

describe('POST /api/v1/data/:symbol/:timeframe/generate', () => {
  it('generates the same seeded SYNTHETIC set as locally, marked synthetic', async () => {
    const r = await g.api('/api/v1/data/GBPUSD/1h/generate', { body: { bars: 300, seed: 7, preset: 'forex' } })
    expect(r.status, JSON.stringify(r.body)).toBe(201)
    expect(r.body.data).toMatchObject({
      key: 'GBPUSD_1h.csv',
      bars: 300,
      synthetic: true,
      meta: { synthetic: true, seed: 7, preset: 'forex' },
    })
    const stored = await bars('GBPUSD', '1h')
    expect(stored.synthetic).toBe(true)
    const local = generateSyntheticSeries({ symbol: 'GBPUSD', timeframe: '1h', bars: 300, seed: 7, preset: 'forex' })
    expect(Array.from(stored.close)).toEqual(Array.from(local.close))
    const listed = await g.api('/api/v1/data?symbol=GBPUSD')
    expect(listed.body.data[0]).toMatchObject({ synthetic: true, seed: 7, preset: 'forex' })
  })

  it('replaces a stored dataset only with force: true (else 409 DATA_EXISTS, nothing written), like ktrdr data generate', async () => {
    const generate = (body: Record<string, unknown>) => g.api('/api/v1/data/USDJPY/1h/generate', { body: { bars: 200, ...body } })
    expect((await generate({ seed: 1 })).status).toBe(201)
    const before = Array.from((await bars('USDJPY', '1h')).close)
    const refused = await generate({ seed: 2 })
    expect(refused.status).toBe(409)
    expect(refused.body).toMatchObject({ code: 'DATA_EXISTS', details: { key: 'USDJPY_1h.csv', bars: 200, synthetic: true } })
    expect(refused.body.message).toMatch(/USDJPY_1h.csv already holds 200 SYNTHETIC bars .*force.*nothing was written/)
    expect(Array.from((await bars('USDJPY', '1h')).close)).toEqual(before)
    expect((await generate({ seed: 2, force: 'yes' })).status).toBe(400)
    const forced = await generate({ seed: 2, force: true })
    expect(forced.status).toBe(200)
    expect(forced.body.data.meta.seed).toBe(2)
    expect(Array.from((await bars('USDJPY', '1h')).close)).not.toEqual(before)
  })

  it('refuses unknown fields and bad values with 400 naming them', async () => {
    const unknown = await g.api('/api/v1/data/GBPUSD/1h/generate', { body: { bar: 300 } })
    expect(unknown.status).toBe(400)
    expect(unknown.body.message).toMatch(/bar is not a field/)
    expect((await g.api('/api/v1/data/GBPUSD/1h/generate', { body: { seed: 1.5 } })).status).toBe(400)
    expect((await g.api('/api/v1/data/GBPUSD/1h/generate', { body: { preset: 'crypto' } })).body.code).toBe('DATA_INVALID_PRESET')
  })
})

describe('auth', () => {
  it('writing data takes the API token; the cluster token is not enough', async () => {
    const t = await startTestGateway({ apiToken: 'api-secret', clusterToken: 'cluster-secret', routes: researchRoutes })
    try {
      const csv = `${YAHOO}2024-01-02,1,2,0.5,1.5,1.4,100\n`
      const as = (token?: string) =>
        t.api('/api/v1/data/AAPL/1d', {
          method: 'PUT',
          raw: csv,
          headers: { 'content-type': 'text/csv', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        })
      expect((await as()).status).toBe(401)
      expect((await as('cluster-secret')).status).toBe(401)
      expect((await as('api-secret')).status).toBe(201)
      const route = t.gateway.routes.find((r) => r.method === 'put' && r.path === '/api/v1/data/:symbol/:timeframe')
      expect(route).toMatchObject({ auth: 'api', body: 'upload' })
    } finally {
      await t.close()
    }
  })
})
