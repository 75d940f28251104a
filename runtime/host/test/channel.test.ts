// The host channel against a real gateway: the host's channel client and event outbox (this
// package's), a registered worker whose HTTP endpoint counts what reaches it, and the gateway's
// dispatcher, events handling, health monitor and upgrade route as they run.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { consola } from 'consola'
import { afterEach, describe, expect, it } from 'vitest'
import {
  HOST_SECRET_HEADER,
  channelPath,
  type ChannelAnswer,
  type ChannelOp,
  type DispatchRequest,
  type HostEvent,
  type Operation,
} from '../../protocol/index.ts'
import { startTestGateway, until, type TestGateway } from '../../../test/kit/index.ts'
import { createGatewayChannel, type GatewayChannel } from '../_channel.ts'
import { createHost, resolveHostOptions } from '../index.ts'
import { createEventOutbox, type NewHostEvent } from '../_events.ts'

const TOKEN = 'cluster-token-for-channel-tests'
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function gateway(config: Parameters<typeof startTestGateway>[0] = {}, dir?: string): Promise<TestGateway> {
  const g = await startTestGateway({ clusterToken: TOKEN, ...config }, dir)
  cleanups.push(() => g.close(true))
  return g
}

/**
 * A worker as the channel sees it: registered over HTTP, an HTTP endpoint that answers /health and
 * counts every other request, a channel, and an outbox that pushes events over it when it is open.
 */
async function startWorker(g: { url: string }, id: string, onDispatch: (req: DispatchRequest, emit: (e: NewHostEvent) => void) => void) {
  const httpCalls: string[] = []
  const endpoint = http.createServer((req, res) => {
    if (req.url !== '/health') httpCalls.push(`${req.method} ${req.url}`)
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ healthy: true, worker_id: id, status: 'operational' }))
  })
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve))
  const endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`
  let gatewayUrl = g.url
  let secret = ''
  const register = async () => {
    const res = await fetch(`${gatewayUrl}/api/v1/workers/register`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${TOKEN}`,
        ...(secret ? { [HOST_SECRET_HEADER]: secret } : {}),
      },
      body: JSON.stringify({
        worker_id: id,
        worker_type: 'general',
        endpoint_url: endpointUrl,
        capabilities: { cores: 2, memory_gb: 4, slots: 4 },
      }),
    })
    const body = (await res.json()) as { host_secret?: string }
    if (res.status !== 200) throw new Error(`register: ${res.status} ${JSON.stringify(body)}`)
    if (body.host_secret) secret = body.host_secret
  }
  await register()
  const logger = consola.withTag(id)
  logger.level = 0
  const onRequest = (op: ChannelOp, body: unknown): ChannelAnswer => {
    if (op !== 'dispatch') return { status: 404, body: null }
    const req = body as DispatchRequest
    onDispatch(req, (e) => outbox.push(e))
    return { status: 202, body: { accepted: true, operation_id: req.operation_id, attempt: req.attempt } }
  }
  const channel: GatewayChannel = createGatewayChannel({
    gatewayUrl: () => gatewayUrl,
    workerId: id,
    headers: () => ({ authorization: `Bearer ${TOKEN}`, [HOST_SECRET_HEADER]: secret }),
    onRequest,
    onOpen: () => outbox.kick(),
    logger,
    retry: { initialMs: 20, maxMs: 200 },
  })
  const pushes = { batches: 0, inFlight: 0, maxInFlight: 0 }
  const outbox = createEventOutbox({
    send: async (events: HostEvent[]) => {
      pushes.batches++
      pushes.maxInFlight = Math.max(pushes.maxInFlight, ++pushes.inFlight)
      try {
        const answer = await channel.request<{ acked_seq: number }>('events', { events }, { timeoutMs: 5000 })
        if (answer.status !== 200) throw new Error(`events: ${answer.status}`)
        return answer.body!
      } finally {
        pushes.inFlight--
      }
    },
    onUnknownWorker: register,
    logger,
    window: () => (channel.open ? 16 : 1),
    retry: { initialMs: 20, maxMs: 200 },
  })
  channel.connect()
  const worker = {
    id,
    channel,
    outbox,
    httpCalls,
    pushes,
    register,
    moveTo(url: string) {
      gatewayUrl = url
    },
    async kill() {
      outbox.stop()
      channel.stop()
      endpoint.closeAllConnections()
      await new Promise<void>((resolve) => endpoint.close(() => resolve()))
    },
  }
  cleanups.push(() => worker.kill())
  return worker
}

const at = () => new Date().toISOString()

/**
 * Finishes each dispatch at once: started and `steps` progress updates now, completed a moment
 * later, while the first batch still waits for its ack (a no-op's `completed` does exactly that).
 */
const finishing =
  (steps = 0) =>
  (req: DispatchRequest, emit: (e: NewHostEvent) => void) => {
    const base = { operation_id: req.operation_id, attempt: req.attempt, at: at() }
    emit({ ...base, type: 'started', bundle_ready_at: at() })
    for (let i = 1; i <= steps; i++)
      emit({ ...base, type: 'progress', progress: { percentage: (100 * i) / steps, current_step: `${i}`, context: {} } })
    setImmediate(() => emit({ ...base, type: 'completed', result: { echo: req.input } }))
  }

/** An upgrade request by hand, so the refusal's status is visible whatever WebSocket client is installed. */
function upgrade(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve(res.statusCode ?? 0)
    })
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('host channel', () => {
  it('carries the dispatch down and the events up, in order, pipelined; nothing reaches the host over HTTP', async () => {
    const g = await gateway()
    const w = await startWorker(g, 'h1', finishing(20))
    await until(() => w.channel.open && g.gateway.services.channels.connected().includes('h1'), 10_000)
    const seen: number[] = []
    g.gateway.services.hooks.on('operation:updated', (op) => {
      if (op.progress.percentage > 0) seen.push(op.progress.percentage)
    })
    const res = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { message: 'one' }, wait_seconds: 10 } })
    expect(res.body.status).toBe('completed')
    expect(res.body.result).toEqual({ echo: { message: 'one' } })
    // Applied in the order they were emitted (unsent progress may be coalesced, never reordered).
    expect(seen.length).toBeGreaterThan(0)
    expect(seen).toEqual([...seen].sort((a, b) => a - b))
    expect(seen.at(-1)).toBe(100)
    expect(w.httpCalls).toEqual([])
    // `completed` went before the ack of the batch before it came back.
    await w.outbox.drained()
    expect(w.pushes.maxInFlight).toBe(2)
  })

  it('the upgrade takes the route policy and the host secret: 401, 403, 404; a plain GET is 426', async () => {
    const g = await gateway()
    const w = await startWorker(g, 'h2', finishing())
    await until(() => w.channel.open, 10_000)
    const url = `${g.url}${channelPath('h2')}`
    expect(await upgrade(url, {})).toBe(401)
    expect(await upgrade(url, { authorization: 'Bearer not-the-token' })).toBe(401)
    expect(await upgrade(url, { authorization: `Bearer ${TOKEN}`, [HOST_SECRET_HEADER]: 'wrong' })).toBe(403)
    expect(await upgrade(`${g.url}${channelPath('nobody')}`, { authorization: `Bearer ${TOKEN}` })).toBe(404)
    expect(await upgrade(`${g.url}/api/v1/workers`, { authorization: `Bearer ${TOKEN}` })).toBe(404)
    const plain = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(plain.status).toBe(426)
    expect(((await plain.json()) as { code: string }).code).toBe('UPGRADE_REQUIRED')
  })

  it('reconnects: after a gateway restart the channel reopens once the host registered again, and carries calls again', async () => {
    const first = await gateway()
    const w = await startWorker(first, 'h3', finishing())
    await until(() => w.channel.open, 10_000)
    const port = first.gateway.port
    const dir = first.dir
    await first.gateway.close()
    await until(() => !w.channel.open, 10_000)
    const second = await gateway({ port }, dir)
    // Refused (404) until the host registers again; then the next attempt opens it.
    await w.register()
    w.channel.connect()
    await until(() => w.channel.open && second.gateway.services.channels.connected().includes('h3'), 10_000)
    const res = await second.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { message: 'again' }, wait_seconds: 10 } })
    expect(res.body.status).toBe('completed')
    expect(w.httpCalls).toEqual([])
  })

  it('a host that dies mid-call: its channel closes, the gateway probes it at once and re-queues the operation', async () => {
    // Heartbeat watch and polls out of the way: only the channel's close can notice in time.
    const g = await gateway({ health: { heartbeatTimeoutMs: 60_000, intervalMs: 60_000, probeTimeoutMs: 1000 } })
    const w = await startWorker(g, 'h4', (req, emit) =>
      emit({ operation_id: req.operation_id, attempt: req.attempt, at: at(), type: 'started' }),
    )
    await until(() => w.channel.open, 10_000)
    const op = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: {}, max_attempts: 2 } })).body
    await until(() => g.gateway.services.operations.getLive(op.operation_id)?.op.status === 'running', 10_000)
    const requeued = new Promise<number>((resolve) =>
      g.gateway.services.hooks.on('operation:requeued', (o) => {
        if (o.operation_id === op.operation_id) resolve(performance.now())
      }),
    )
    const t0 = performance.now()
    await w.kill()
    const ms = (await requeued) - t0
    expect(ms).toBeLessThan(3000)
    const s = g.gateway.services.operations.getLive(op.operation_id)!
    expect(s.op.status).toBe('pending')
    expect(s.op.metadata.last_requeue_reason).toMatch(/h4 was lost \(its channel closed/)
  })

  it('a real host opens its channel when it registers; KTRDR_HOST_CHANNEL=0 keeps it on HTTP', async () => {
    expect(resolveHostOptions({}, {}).channel).toBe(true)
    expect(resolveHostOptions({}, { KTRDR_HOST_CHANNEL: '0' }).channel).toBe(false)
    const g = await gateway()
    for (const [id, channel] of [
      ['real-on', true],
      ['real-off', false],
    ] as const) {
      const host = await createHost({
        workerId: id,
        apiUrl: g.url,
        port: 0,
        storage: { root: join(g.dir, 'store') },
        detectGpu: false,
        logLevel: 'error',
        clusterToken: TOKEN,
        spareExecutors: 0,
        channel,
      })
      cleanups.push(() => host.close({ timeoutMs: 1000 }))
      await host.registered
    }
    await until(() => g.gateway.services.channels.connected().includes('real-on'), 10_000)
    // A host opens its channel right after registering; by its first heartbeat it would be open.
    await until(() => g.gateway.services.workers.get('real-off')?.record.last_heartbeat_at, 10_000)
    expect(g.gateway.services.channels.connected()).toEqual(['real-on'])
  })
})
