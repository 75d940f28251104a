// HEAD on every GET route (the route table's own list): the GET's status and headers, no body, the
// same auth; `curl -I /health` is the deployment guide's reachability check. Wrong methods → 405 + Allow.
import http from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { Operation } from '../../protocol/index.ts'
import { startFakeHost, startTestGateway, until, type TestGateway } from '../../../test/kit/index.ts'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

/** A raw request (fetch refuses a HEAD body check); resolves on the end of the answer. */
function request(url: string, method: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)))
    req.on('error', reject)
    req.end()
  })
}

async function gatewayWithAnOperation(): Promise<{ g: TestGateway; id: string }> {
  const g = await startTestGateway({ apiToken: 'api-t', clusterToken: 'cluster-t' })
  cleanups.push(() => g.close())
  const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'x1', token: 'cluster-t' })
  cleanups.push(() => h.close())
  const auth = { authorization: 'Bearer api-t' }
  const op = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } }, headers: auth })).body
  await until(async () => (await g.api<Operation>(`/api/v1/operations/${op.operation_id}`, { headers: auth })).body.status === 'running')
  return { g, id: op.operation_id }
}

describe('HEAD', () => {
  it('answers like GET on every GET route, with no body', async () => {
    const { g, id } = await gatewayWithAnOperation()
    const gets = g.gateway.routes.filter((r) => r.method === 'get')
    expect(gets.length).toBeGreaterThanOrEqual(10)
    for (const route of gets) {
      const path = route.path.replace(':id', route.path.startsWith('/api/v1/operations') ? id : 'x1').replace(/:\w+/g, 'x1')
      const headers = route.auth === 'cluster' ? { authorization: 'Bearer cluster-t' } : { authorization: 'Bearer api-t' }
      const head = await request(`${g.url}${path}`, 'HEAD', headers)
      expect(head.body, path).toBe('')
      // An event stream's GET stays open until the operation ends: its HEAD answers at once.
      if (head.headers['content-type']?.startsWith('text/event-stream')) {
        expect(head.status, path).toBe(200)
        continue
      }
      const get = await request(`${g.url}${path}`, 'GET', headers)
      expect(head.status, path).toBe(get.status)
      expect(head.headers['content-type'], path).toBe(get.headers['content-type'])
    }
    // The same auth: without a token, or with the other one, HEAD is refused exactly when GET is.
    for (const route of gets) {
      const path = route.path.replace(/:\w+/g, id)
      for (const headers of [{}, { authorization: 'Bearer cluster-t' }, { authorization: 'Bearer wrong' }] as Array<
        Record<string, string>
      >) {
        const head = await request(`${g.url}${path}`, 'HEAD', headers)
        if (head.status !== 401) {
          expect(route.auth, `${path} ${JSON.stringify(headers)}`).not.toBe('api')
          continue
        }
        expect((await request(`${g.url}${path}`, 'GET', headers)).status, path).toBe(401)
      }
    }
  })

  it('curl -I /health works without a token; other routes keep their auth; a wrong method is 405 with Allow', async () => {
    const { g } = await gatewayWithAnOperation()
    const health = await request(`${g.url}/health`, 'HEAD')
    expect(health.status).toBe(200)
    expect(health.headers['content-type']).toMatch(/application\/json/)
    expect((await request(`${g.url}/api/v1/workers`, 'HEAD')).status).toBe(401)
    expect((await request(`${g.url}/api/v1/workers`, 'HEAD', { authorization: 'Bearer api-t' })).status).toBe(200)
    const wrong = await request(`${g.url}/health`, 'DELETE', { authorization: 'Bearer api-t' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.allow).toBe('GET, HEAD')
  })
})
