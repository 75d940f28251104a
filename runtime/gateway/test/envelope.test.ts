// One list envelope for our own lists, the deployment guide's shapes kept for its routes, one
// error body for every refusal, and optional CORS.
import { afterEach, describe, expect, it } from 'vitest'
import type { Operation, WorkerRecord } from '../../protocol/index.ts'
import { resolveGatewayOptions } from '../_options.ts'
import { startFakeHost, useTestGateways, type TestGateway } from '../../../test/kit/index.ts'

const { gw, cleanup } = useTestGateways(afterEach)

const ENVELOPE = ['data', 'limit', 'offset', 'total_count']

describe('lists', () => {
  it('our own lists answer {data, total_count, limit, offset} and page', async () => {
    const g = await gw()
    const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'h' })
    cleanup(() => h.close())
    await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: {}, wait_seconds: 5 } })
    await g.api('/api/v1/functions/echo/secrets/API_KEY', { method: 'PUT', body: { value: 'v' } })
    for (const path of ['/api/v1/functions', '/api/v1/functions/echo/versions', '/api/v1/functions/echo/secrets', '/api/v1/operations']) {
      const r = await g.api(path)
      expect(r.status, path).toBe(200)
      expect(
        Object.keys(r.body)
          .filter((k) => ENVELOPE.includes(k))
          .sort(),
        path,
      ).toEqual(ENVELOPE)
      expect(Array.isArray(r.body.data), path).toBe(true)
      expect(r.body.total_count, path).toBeGreaterThanOrEqual(r.body.data.length)
    }
    const all = (await g.api('/api/v1/functions')).body
    expect(all.total_count).toBeGreaterThan(3)
    const page = (await g.api('/api/v1/functions?limit=2&offset=1')).body
    expect(page).toMatchObject({ total_count: all.total_count, limit: 2, offset: 1 })
    expect(page.data).toEqual(all.data.slice(1, 3))
    expect((await g.api('/api/v1/functions?limit=0')).status).toBe(400)
    expect((await g.api('/api/v1/functions/echo/secrets')).body).toMatchObject({ function: 'echo', data: [{ name: 'API_KEY' }] })
  })

  it("the deployment guide's routes keep the guide's shapes", async () => {
    const g = await gw()
    const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'h' })
    cleanup(() => h.close())
    const workers = (await g.api<WorkerRecord[]>('/api/v1/workers')).body
    expect(Array.isArray(workers)).toBe(true)
    expect(workers[0]!.worker_id).toBe('h')
    expect((await g.api('/api/v1/workers/health')).body).toEqual({ total_workers: 1, available: 1, busy: 0, temporarily_unavailable: 0 })
  })
})

describe('errors', () => {
  it('every refusal has the same body: statusCode, code, message, retryable', async () => {
    const g = await gw({ apiToken: 'api-t' })
    const auth = { authorization: 'Bearer api-t' }
    const cases: Array<[string, Parameters<TestGateway['api']>[1], number]> = [
      ['/api/v1/workers', {}, 401],
      ['/api/v1/operations/op_none', { headers: auth }, 404],
      ['/api/v1/nothing', { headers: auth }, 404],
      ['/api/v1/operations?limit=x', { headers: auth }, 400],
      ['/health', { method: 'DELETE', headers: auth }, 405],
      ['/api/v1/functions/echo/invoke', { headers: auth, raw: '{"input":' }, 400],
      ['/api/v1/functions/strict/invoke', { headers: auth, body: { input: { bars: 0 } } }, 422],
      ['/api/v1/functions/nope/invoke', { headers: auth, body: { input: {} } }, 404],
    ]
    for (const [path, init, status] of cases) {
      const r = await g.api(path, init)
      expect(r.status, path).toBe(status)
      expect(r.body, path).toMatchObject({
        statusCode: status,
        code: expect.stringMatching(/^[A-Z_]+$/),
        message: expect.any(String),
        retryable: expect.any(Boolean),
      })
    }
  })
})

describe('CORS', () => {
  it('is off by default; with KTRDR_CORS_ORIGINS preflights pass without a token and answers name the origin', async () => {
    expect(resolveGatewayOptions({}, { KTRDR_CORS_ORIGINS: 'http://a.example, http://b.example/' }).corsOrigins).toEqual([
      'http://a.example',
      'http://b.example',
    ])
    const off = await gw({ apiToken: 'api-t' })
    const plain = await fetch(`${off.url}/api/v1/workers`, { headers: { origin: 'http://a.example', authorization: 'Bearer api-t' } })
    expect(plain.headers.get('access-control-allow-origin')).toBeNull()

    const g = await gw({ apiToken: 'api-t', corsOrigins: ['http://a.example'] })
    const preflight = await fetch(`${g.url}/api/v1/workers`, {
      method: 'OPTIONS',
      headers: { origin: 'http://a.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://a.example')
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/)
    const actual = await fetch(`${g.url}/api/v1/workers`, { headers: { origin: 'http://a.example', authorization: 'Bearer api-t' } })
    expect(actual.status).toBe(200)
    expect(actual.headers.get('access-control-allow-origin')).toBe('http://a.example')
    expect(actual.headers.get('access-control-expose-headers')).toMatch(/x-request-id/)
    // Still the token: CORS lets a browser ask, not skip auth.
    expect((await fetch(`${g.url}/api/v1/workers`, { headers: { origin: 'http://a.example' } })).status).toBe(401)
    const other = await fetch(`${g.url}/api/v1/workers`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'GET' },
    })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    expect(other.status).not.toBe(204)
  })
})
