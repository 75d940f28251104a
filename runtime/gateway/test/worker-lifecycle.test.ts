// A host's life as the deployment guide's troubleshooting expects it: drained and undrained, gone
// at once when it stops gracefully (deregister), refused at registration when the gateway could
// never call it with the token it checks.
import { createServer } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { Operation, WorkerRecord } from '../../protocol/index.ts'
import { readMetrics, startFakeHost, useTestGateways, until, type TestGateway } from '../../../test/kit/index.ts'

const { gw, cleanup } = useTestGateways(afterEach)
async function host(g: TestGateway, workerId: string, extra: Partial<Parameters<typeof startFakeHost>[0]> = {}) {
  const h = await startFakeHost({ gatewayUrl: g.url, workerId, ...extra })
  cleanup(() => h.close())
  return h
}

describe('undrain', () => {
  it('a drained host takes new work again, and what queued meanwhile runs on it', async () => {
    const g = await gw()
    await host(g, 'only')
    expect((await g.api<WorkerRecord>('/api/v1/workers/only/drain', { method: 'POST' })).body.metadata.draining).toBe(true)
    const queued = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { message: 'waits' } } })).body
    expect((await g.api<Operation>(`/api/v1/operations/${queued.operation_id}`)).body.status).toBe('pending')
    const back = await g.api<WorkerRecord>('/api/v1/workers/only/undrain', { method: 'POST' })
    expect(back.status).toBe(200)
    expect(back.body.metadata.draining).toBe(false)
    const done = await until(
      async () => {
        const o = (await g.api<Operation>(`/api/v1/operations/${queued.operation_id}`)).body
        return o.status === 'completed' ? o : null
      },
      10_000,
      'the queued operation to run on the undrained host',
    )
    expect(done.worker_id).toBe('only')
    expect((await g.api('/api/v1/workers/ghost/undrain', { method: 'POST' })).status).toBe(404)
  })
})

describe('deregister', () => {
  it('removes the host at once; its id stays its own; what it still held is re-queued', async () => {
    const g = await gw()
    const leaving = await host(g, 'leaving')
    const started = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } } })).body
    await until(
      async () => (await g.api<Operation>(`/api/v1/operations/${started.operation_id}`)).body.status === 'running',
      10_000,
      'running',
    )

    const stranger = await g.api('/api/v1/workers/leaving/deregister', { method: 'POST', body: {} })
    expect(stranger.status).toBe(403)
    expect(stranger.body.code).toBe('HOST_SECRET_MISMATCH')

    const r = await g.api('/api/v1/workers/leaving/deregister', { method: 'POST', body: {}, headers: leaving.asHost })
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ removed: true, worker_id: 'leaving', requeued_operations: [started.operation_id] })
    expect((await g.api('/api/v1/workers/leaving')).status).toBe(404)
    const op = (await g.api<Operation>(`/api/v1/operations/${started.operation_id}`)).body
    expect(op).toMatchObject({ status: 'pending', attempts: 1 })
    // Its secret is kept: another registration under the id is refused, the host itself comes back.
    const taken = await g.api('/api/v1/workers/register', {
      body: { worker_id: 'leaving', worker_type: 'general', endpoint_url: 'http://127.0.0.1:9', capabilities: {} },
    })
    expect(taken.status).toBe(409)
    await leaving.register()
    expect((await g.api<WorkerRecord>('/api/v1/workers/leaving')).body.status).not.toBe('TEMPORARILY_UNAVAILABLE')
  })

  it('a clean stop (nothing held) is a removal, not a lost host', async () => {
    const g = await gw()
    const idle = await host(g, 'idle')
    const removed = new Promise((resolve) => g.gateway.services.hooks.on('worker:removed', resolve))
    const lost: string[] = []
    g.gateway.services.hooks.on('worker:lost', (w) => lost.push(w.worker_id))
    const r = await g.api('/api/v1/workers/idle/deregister', { method: 'POST', body: {}, headers: idle.asHost })
    expect(r.body).toEqual({ removed: true, worker_id: 'idle', requeued_operations: [] })
    await removed
    expect(lost).toEqual([])
    const metrics = readMetrics(await (await fetch(`${g.url}/metrics`)).text())
    expect(metrics.value('ktrdr_hosts_lost_total', { worker_id: 'idle' })).toBe(0)
  })
})

describe('a channel upgrade whose host is already gone', () => {
  // A host stopping right after it registered (deregister, then its channel socket closes) leaves
  // the gateway refusing an upgrade on a dead socket. node:http drops its error listener from an
  // upgraded socket; without one of ours the reset was an uncaught exception: the gateway died.
  it('is refused without taking the gateway down', async () => {
    const g = await gw()
    const { port } = new URL(g.url)
    const request = [
      'GET /api/v1/workers/gone/channel HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      '',
      '',
    ].join('\r\n')
    const uncaught: unknown[] = []
    const onUncaught = (error: unknown) => uncaught.push(error)
    process.on('uncaughtException', onUncaught)
    cleanup(() => process.off('uncaughtException', onUncaught))
    for (let i = 0; i < 10; i++) {
      const socket = connect(Number(port), '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.write(request, () => socket.resetAndDestroy())
      await new Promise((resolve) => socket.once('close', resolve))
    }
    // A well-behaved upgrade to the same route after them: refused with the reason, and by then
    // every earlier refusal has been written (or failed) in order.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(request))
      let text = ''
      socket.on('data', (chunk) => (text += chunk))
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
    expect(answer).toMatch(/^HTTP\/1.1 404/)
    expect(uncaught).toEqual([])
    expect((await g.api('/health')).status).toBe(200)
  })
})

describe('a cluster token the gateway cannot call back with', () => {
  const registration = { worker_id: 'w1', worker_type: 'general', endpoint_url: 'http://127.0.0.1:9', capabilities: {} }

  it('a gateway without tokens refuses a host that has one, at registration, saying why', async () => {
    const g = await gw({ apiToken: null, clusterToken: null })
    const r = await g.api('/api/v1/workers/register', { body: registration, headers: { authorization: 'Bearer host-only-token' } })
    expect(r.status).toBe(401)
    expect(r.body.message).toMatch(/This host has a cluster token \(KTRDR_CLUSTER_TOKEN\) but the gateway has none/)
    expect((await g.api('/api/v1/workers/register', { body: registration })).status).toBe(200)
  })

  it('a gateway with only an API token takes it at registration and calls hosts with it', async () => {
    const g = await gw({ apiToken: 'api-only', clusterToken: null })
    const r = await g.api('/api/v1/workers/register', { body: registration, headers: { authorization: 'Bearer api-only' } })
    expect(r.status).toBe(200)
    // What the gateway sends a host: an endpoint that records it.
    const seen: Array<string | undefined> = []
    const endpoint = createServer((req, res) => {
      seen.push(req.headers.authorization)
      res.setHeader('content-type', 'application/json')
      res.end('{"healthy":true}')
    })
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve))
    cleanup(() => new Promise((resolve) => endpoint.close(resolve)))
    const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`
    expect((await g.gateway.services.client.health(url, 2000)).status).toBe(200)
    expect(seen).toEqual(['Bearer api-only'])
  })
})
