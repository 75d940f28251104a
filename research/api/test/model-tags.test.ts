// Tags over the API: a worse newer model does not take the production tag, a tag moves within its
// symbol set, the listing shows sets, latests and tags, and every bad name is a 4xx naming it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useTfBackend } from '../../../trading/model/index.ts'
import { startTestGateway, type TestGateway } from '../../../test/kit/index.ts'
import { researchRoutes } from '../../index.ts'
import { saveTinyModel } from './_tiny-model.ts'

let g: TestGateway

function saveModel(symbols: string[], testAccuracy: number) {
  return saveTinyModel(g.gateway.services.storage, {
    strategy: 'tagged',
    metadata: {
      created_at: new Date().toISOString(),
      training_symbols: symbols,
      data: { synthetic: true, samples: { train: 100, validation: 20, test: 30 } },
    },
    metrics: {
      history: [{ epoch: 1, train_loss: 1, val_loss: 1.1, val_accuracy: 0.5, duration: 2 }],
      test_metrics: { test_accuracy: testAccuracy, majority_baseline: 0.5, test_loss: 1 },
      best_epoch: 1,
      val_majority_baseline: 0.45,
    },
  })
}

const put = (path: string) => g.api(path, { method: 'PUT' })

beforeAll(async () => {
  await useTfBackend()
  g = await startTestGateway({ routes: researchRoutes })
  await saveModel(['EURUSD'], 0.61) // 1h_v1: the good one
  // A version whose save never finished (claimed, no metadata.json).
  await g.gateway.services.storage.models.setItem('tagged/4h_v1/claim.json', '{}')
}, 60_000)
afterAll(async () => {
  await g?.close()
})

describe('model tags', () => {
  it('a worse newer model does not lose the production tag; the tag moves within its symbol set; the listing shows it', async () => {
    const promoted = await put('/api/v1/models/tagged/1h_v1/tags/production')
    expect(promoted.status).toBe(200)
    expect(promoted.body.data).toMatchObject({ tag: 'production', version: '1h_v1', symbols: ['EURUSD'], timeframe: '1h', previous: null })
    await saveModel(['EURUSD'], 0.48) // 1h_v2: newer, worse
    await saveModel(['AAPL'], 0.55) // 1h_v3: another symbol set

    const list = await g.api('/api/v1/models?strategy=tagged')
    expect(list.status).toBe(200)
    const s = list.body.data[0]
    expect(s.sets).toEqual([
      { timeframe: '1h', symbols: ['AAPL'], set: 'AAPL', latest: '1h_v3', tags: {} },
      { timeframe: '1h', symbols: ['EURUSD'], set: 'EURUSD', latest: '1h_v2', tags: { production: '1h_v1' } },
    ])
    expect(s.versions.map((v: any) => [v.version, v.symbols.join(','), v.latest, v.tags, v.test_accuracy, v.majority_baseline])).toEqual([
      ['1h_v3', 'AAPL', true, [], 0.55, 0.5],
      ['1h_v2', 'EURUSD', true, [], 0.48, 0.5],
      ['1h_v1', 'EURUSD', false, ['production'], 0.61, 0.5],
      ['4h_v1', '', false, [], null, null],
    ])

    const show = await g.api('/api/v1/models/tagged/@production?symbol=EURUSD')
    expect(show.body.data).toMatchObject({ key: 'tagged/1h_v1', tags: ['production'], latest: false, symbols: ['EURUSD'] })
    expect((await g.api('/api/v1/models/tagged/1h_latest?symbol=EURUSD')).body.data.key).toBe('tagged/1h_v2')
    expect((await g.api('/api/v1/models/tagged/1h_latest?symbol=AAPL')).body.data.key).toBe('tagged/1h_v3')
    const ambiguous = await g.api('/api/v1/models/tagged/1h_latest')
    expect(ambiguous.status).toBe(422)
    expect(ambiguous.body).toMatchObject({ code: 'MODEL_AMBIGUOUS', message: expect.stringMatching(/AAPL 1h → 1h_v3; EURUSD 1h → 1h_v2/) })

    // Unique per set: production on AAPL's model leaves EURUSD's where it is…
    expect((await put('/api/v1/models/tagged/1h_v3/tags/production')).body.data.previous).toBe(null)
    expect((await g.api('/api/v1/models/tagged/@production?symbol=AAPL')).body.data.key).toBe('tagged/1h_v3')
    expect((await g.api('/api/v1/models/tagged/@production?symbol=EURUSD')).body.data.key).toBe('tagged/1h_v1')
    // …and putting it on another EURUSD version moves it.
    const moved = await put('/api/v1/models/tagged/1h_v2/tags/production')
    expect(moved.body.data).toMatchObject({ version: '1h_v2', previous: '1h_v1' })
    const after = (await g.api('/api/v1/models?strategy=tagged')).body.data[0]
    expect(after.versions.filter((v: any) => v.tags.includes('production')).map((v: any) => v.version)).toEqual(['1h_v3', '1h_v2'])

    const notThere = await g.api('/api/v1/models/tagged/1h_v1/tags/production', { method: 'DELETE' })
    expect(notThere.status).toBe(404)
    expect(notThere.body).toMatchObject({ code: 'MODEL_TAG_NOT_FOUND', message: expect.stringContaining('the tag is on tagged/1h_v2') })
    expect((await g.api('/api/v1/models/tagged/1h_v2/tags/production', { method: 'DELETE' })).status).toBe(200)
    expect((await g.api('/api/v1/models/tagged/@production?symbol=EURUSD')).body.code).toBe('MODEL_SET_NOT_FOUND')
  })

  it('a bad tag, strategy or version is a 4xx naming it', async () => {
    const cases: Array<[string, number, string, string]> = [
      ['/api/v1/models/tagged/1h_v1/tags/bad!tag', 400, 'MODEL_TAG_INVALID', '"bad!tag"'],
      ['/api/v1/models/tagged/1h_v1/tags/latest', 400, 'MODEL_TAG_INVALID', '"latest" cannot be a tag'],
      ['/api/v1/models/nobody/1h_v1/tags/production', 404, 'MODEL_NOT_FOUND', 'nobody/1h_v1'],
      ['/api/v1/models/tagged/1h_v9/tags/production', 404, 'MODEL_NOT_FOUND', 'tagged/1h_v9'],
      ['/api/v1/models/tagged/v9/tags/production', 404, 'MODEL_NOT_FOUND', 'tagged/v9'],
      ['/api/v1/models/tagged/4h_v1/tags/production', 404, 'MODEL_NOT_FOUND', 'tagged/4h_v1'],
      ['/api/v1/models/nobody/@production/tags/production', 404, 'MODEL_NOT_FOUND', 'nobody'],
    ]
    for (const [path, status, code, named] of cases) {
      const r = await put(path)
      expect({ path, status: r.status, code: r.body.code }).toEqual({ path, status, code })
      expect(r.body.message).toContain(named)
    }
    const staging = await g.api('/api/v1/models/tagged/@staging?symbol=EURUSD')
    expect(staging.status).toBe(404)
    expect(staging.body).toMatchObject({ code: 'MODEL_TAG_NOT_FOUND', message: expect.stringContaining('tagged staging') })
    const badQuery = await g.api('/api/v1/models/tagged/1h_latest?symbol=GBPUSD')
    expect(badQuery.status).toBe(404)
    expect(badQuery.body.message).toMatch(/containing GBPUSD; the sets are AAPL 1h → 1h_v3; EURUSD 1h → 1h_v2/)
  })

  it('compares 2–6 versions: test metrics beside baselines, the best column marked', async () => {
    const r = await g.api('/api/v1/models/compare?models=tagged/1h_v1,tagged/1h_v2,tagged/1h_latest&symbol=AAPL')
    expect(r.status).toBe(200)
    expect(r.body.models.map((m: any) => m.key)).toEqual(['tagged/1h_v1', 'tagged/1h_v2', 'tagged/1h_v3'])
    const row = (key: string) => r.body.rows.find((x: any) => x.key === key)
    expect(row('test_accuracy')).toMatchObject({ values: [0.61, 0.48, 0.55], best: 0, better: 'higher' })
    expect(row('majority_baseline')).toMatchObject({ values: [0.5, 0.5, 0.5], baseline_of: 'test_accuracy' })
    expect(row('tags').values).toEqual([null, 'latest', 'latest, production'])
    const one = await g.api('/api/v1/models/compare?models=tagged/1h_v1')
    expect(one.status).toBe(400)
    expect(one.body.message).toMatch(/2 to 6 different model versions/)
    const unknown = await g.api('/api/v1/models/compare?models=tagged/1h_v1,tagged/1h_v8')
    expect(unknown.status).toBe(404)
    expect(unknown.body.message).toContain('tagged/1h_v8')
    expect((await g.api('/api/v1/models/compare?models=tagged,tagged/1h_v1')).body).toMatchObject({ code: 'BAD_REQUEST' })
  })
})
