import { afterEach, describe, expect, it } from 'vitest'
import type { Operation, WorkerRecord } from '../../protocol/index.ts'
import { startFakeHost, startTestGateway, useTestGateways, until, type TestGateway } from '../../../test/kit/index.ts'

const { gw, cleanup } = useTestGateways(afterEach)
async function host(g: TestGateway, workerId: string, extra: Partial<Parameters<typeof startFakeHost>[0]> = {}) {
  const h = await startFakeHost({ gatewayUrl: g.url, workerId, ...extra })
  cleanup(() => h.close())
  return h
}
const op = (g: TestGateway, id: string) => g.api<Operation>(`/api/v1/operations/${id}`).then((r) => r.body)

describe('health and auth', () => {
  it('answers /health and /api/v1/health without a token; everything else needs the API token', async () => {
    const g = await gw({ apiToken: 'secret-api', clusterToken: 'secret-cluster' })
    for (const path of ['/health', '/api/v1/health']) {
      const r = await g.api(path)
      expect(r.status).toBe(200)
      expect(r.body.healthy).toBe(true)
      expect(Number.isNaN(Date.parse(r.body.timestamp))).toBe(false)
    }
    expect((await g.api('/api/v1/workers')).status).toBe(401)
    expect((await g.api('/api/v1/workers', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    expect((await g.api('/api/v1/workers', { headers: { authorization: 'Bearer secret-api' } })).status).toBe(200)
    // Registration takes the cluster token, not the API token.
    const reg = { worker_id: 'w1', worker_type: 'general', endpoint_url: 'http://127.0.0.1:1', capabilities: {} }
    expect((await g.api('/api/v1/workers/register', { body: reg, headers: { authorization: 'Bearer secret-api' } })).status).toBe(401)
    expect((await g.api('/api/v1/workers/register', { body: reg, headers: { authorization: 'Bearer secret-cluster' } })).status).toBe(200)
  })

  it('refuses a non-loopback bind without tokens unless insecure', async () => {
    await expect(startTestGateway({ host: '0.0.0.0' })).rejects.toThrow(/--insecure/)
  })
})

describe('workers', () => {
  it('registers, lists with filters, summarises, drains and deletes', async () => {
    const g = await gw()
    await host(g, 'bt-1', { workerType: 'backtesting' })
    await host(g, 'bt-2', { workerType: 'backtesting' })
    await host(g, 'tr-1', { workerType: 'training', capabilities: { gpu: true, gpu_type: 'CUDA', gpu_count: 1 } })
    const all = (await g.api<WorkerRecord[]>('/api/v1/workers')).body
    expect(all.map((w) => w.worker_id).sort()).toEqual(['bt-1', 'bt-2', 'tr-1'])
    expect(all.every((w) => w.status === 'AVAILABLE' && w.metadata.current_operation === null)).toBe(true)
    expect((await g.api<WorkerRecord[]>('/api/v1/workers?worker_type=backtesting')).body).toHaveLength(2)
    expect((await g.api<WorkerRecord[]>('/api/v1/workers?status=BUSY')).body).toHaveLength(0)
    expect((await g.api('/api/v1/workers?status=sleepy')).status).toBe(400)
    expect((await g.api('/api/v1/workers/health')).body).toEqual({ total_workers: 3, available: 3, busy: 0, temporarily_unavailable: 0 })
    expect((await g.api<WorkerRecord>('/api/v1/workers/tr-1')).body.capabilities.gpu).toBe(true)
    expect((await g.api('/api/v1/workers/nope')).status).toBe(404)

    expect((await g.api<WorkerRecord>('/api/v1/workers/bt-1/drain', { method: 'POST' })).body.metadata.draining).toBe(true)
    const r = await g.api<Operation>('/api/v1/functions/bt-only/invoke', { body: { input: {}, wait_seconds: 5 } })
    expect(r.status).toBe(200)
    expect(r.body.worker_id).toBe('bt-2')

    expect((await g.api('/api/v1/workers/bt-2', { method: 'DELETE' })).status).toBe(200)
    expect((await g.api('/api/v1/workers/bt-2')).status).toBe(404)
  })

  it('rejects malformed registrations with 400 naming the field', async () => {
    const g = await gw()
    const r = await g.api('/api/v1/workers/register', { body: { worker_id: 'x', worker_type: 'general', endpoint_url: 'not a url' } })
    expect(r.status).toBe(400)
    expect(r.body.message).toMatch(/endpoint_url/)
    expect((await g.api('/api/v1/workers/register', { raw: '{"worker_id":' })).status).toBe(400)
    expect((await g.api('/api/v1/workers/ghost/heartbeat', { body: { running_operations: [] } })).status).toBe(404)
  })

  it('health polls: consecutive failures → TEMPORARILY_UNAVAILABLE, recovery → AVAILABLE, long outage → removed', async () => {
    const g = await gw({ health: { intervalMs: 100, timeoutMs: 100, failures: 3, removalMs: 1500, heartbeatTimeoutMs: 60_000 } })
    const h = await host(g, 'sick', { heartbeat: false })
    h.state.healthStatus = 500
    const statuses: string[] = []
    g.gateway.services.hooks.on('worker:status', (w) => statuses.push(w.status))
    await until(
      async () => (await g.api<WorkerRecord>('/api/v1/workers/sick')).body.status === 'TEMPORARILY_UNAVAILABLE',
      5000,
      'unavailable',
    )
    expect((await g.api<WorkerRecord>('/api/v1/workers/sick')).body.health_check_failures).toBeGreaterThanOrEqual(3)
    h.state.healthStatus = 200
    await until(async () => (await g.api<WorkerRecord>('/api/v1/workers/sick')).body.status === 'AVAILABLE', 5000, 'recovered')
    h.state.healthStatus = 500
    await until(async () => (await g.api('/api/v1/workers/sick')).status === 404, 8000, 'removed')
    expect(statuses.slice(0, 2)).toEqual(['TEMPORARILY_UNAVAILABLE', 'AVAILABLE'])
  })
})

describe('invocation', () => {
  it('runs an invocation to completion with progress, timings and the op id format', async () => {
    const g = await gw()
    await host(g, 'h1')
    const r = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { message: 'hi', delay_ms: 150, steps: 3 } } })
    expect(r.status).toBe(202)
    expect(r.body.operation_id).toMatch(/^op_dummy_\d{8}_\d{6}_[0-9a-f]{8}$/)
    expect(r.body.status).toBe('pending')
    const seen = new Set<number>()
    g.gateway.services.hooks.on('operation:updated', (o) => {
      if (o.operation_id === r.body.operation_id) seen.add(o.progress.percentage)
    })
    const done = await until(async () => {
      const o = await op(g, r.body.operation_id)
      return o.status === 'completed' ? o : null
    }, 5000)
    expect(done.result).toEqual({ echo: { message: 'hi', delay_ms: 150, steps: 3 }, worker_id: 'h1' })
    expect(done.worker_id).toBe('h1')
    expect(done.attempts).toBe(1)
    expect([...seen].some((p) => p > 0 && p < 100)).toBe(true)
    for (const k of ['queued_at', 'placed_at', 'started_at', 'finished_at'] as const) expect(done.timings[k]).toBeTruthy()
    const list = await g.api('/api/v1/operations?status=completed&operation_type=dummy')
    expect(list.body.data.map((o: Operation) => o.operation_id)).toContain(r.body.operation_id)
  })

  it('wait_seconds returns 200 with the finished operation', async () => {
    const g = await gw()
    await host(g, 'h1')
    const r = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { message: 'x' }, wait_seconds: 5 } })
    expect(r.status).toBe(200)
    expect(r.body.status).toBe('completed')
  })

  it('every bad-input class: 400, 404, 409, 413, 422', async () => {
    const g = await gw({ maxBodyBytes: 4096 })
    const h1 = await host(g, 'h1')
    const unknownKey = await g.api('/api/v1/functions/echo/invoke', { body: { inputs: {} } })
    expect(unknownKey.status).toBe(400)
    expect(unknownKey.body.message).toMatch(/inputs/)
    expect((await g.api('/api/v1/functions/echo/invoke', { body: { input: {}, wait_seconds: -1 } })).status).toBe(400)
    expect((await g.api('/api/v1/functions/echo/invoke', { raw: 'not json' })).status).toBe(400)
    expect((await g.api('/api/v1/functions/echo/invoke', { raw: '[1,2]' })).status).toBe(400)
    expect((await g.api('/api/v1/functions/nope/invoke', { body: { input: {} } })).status).toBe(404)
    expect((await g.api('/api/v1/operations/op_dummy_20260101_000000_deadbeef')).status).toBe(404)
    // A known path with a method it does not serve: 405 naming the methods it does, not 404.
    const wrongMethod = await g.api('/api/v1/workers/health', { method: 'PUT' })
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.body.code).toBe('METHOD_NOT_ALLOWED')
    expect(wrongMethod.body.message).toMatch(/GET, HEAD/)
    expect((await g.api('/api/v1/no-such-route')).status).toBe(404)
    const invalid = await g.api('/api/v1/functions/strict/invoke', { body: { input: { symbol: 3 } } })
    expect(invalid.status).toBe(422)
    expect(invalid.body.message).toMatch(/input\.symbol/)
    const missing = await g.api('/api/v1/functions/strict/invoke', { body: { input: { bars: 0 } } })
    expect(missing.status).toBe(422)
    expect(missing.body.details.errors.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(['input.symbol', 'input.bars']),
    )
    const big = await g.api('/api/v1/functions/echo/invoke', { body: { input: { message: 'x'.repeat(10_000) } } })
    expect(big.status).toBe(413)
    // Chunked body without content-length is counted too.
    const chunked = await fetch(`${g.url}/api/v1/functions/echo/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(`{"input":{"message":"${'y'.repeat(8000)}"}}`))
          c.close()
        },
      }),
    } as RequestInit)
    expect(chunked.status).toBe(413)
    const first = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: {}, idempotency_key: 'k1' } })
    const again = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: {}, idempotency_key: 'k1' } })
    expect(again.body.operation_id).toBe(first.body.operation_id)
    expect((await g.api('/api/v1/functions/strict/invoke', { body: { input: { symbol: 'A' }, idempotency_key: 'k1' } })).status).toBe(409)
    // Malformed host events: 400, or normalised so readers of the operation never break.
    expect((await g.api('/api/v1/workers/h1/events', { body: { events: [{ type: 'progress' }] }, headers: h1.asHost })).status).toBe(400)
    const victim = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } } })
    const running = await until(async () => {
      const o = await op(g, victim.body.operation_id)
      return o.status === 'running' ? o : null
    })
    await g.api('/api/v1/workers/h1/events', {
      headers: h1.asHost,
      body: {
        events: [
          {
            seq: 1e15,
            type: 'progress',
            operation_id: running.operation_id,
            attempt: running.attempts,
            at: new Date().toISOString(),
            progress: { percentage: 'lots' },
          },
        ],
      },
    })
    const afterBad = await op(g, running.operation_id)
    expect(afterBad.progress.percentage).toBe(0)
    expect(afterBad.progress.context).toEqual({})
    // Still alive and consistent after all that.
    expect((await g.api('/health')).status).toBe(200)
  })
})

describe('scheduling', () => {
  it('queues when hosts are full (FIFO within priority) and drains the queue as slots free', async () => {
    const g = await gw()
    const h = await host(g, 'solo')
    // The first invocation holds the only slot until the test ends it, so the others are all queued
    // before any slot frees, however slowly this machine answers the invocations.
    const first = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } } })).body.operation_id
    const ids: string[] = []
    for (let i = 0; i < 3; i++)
      ids.push((await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 10 } } })).body.operation_id)
    const urgent = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 10 }, priority: 10 } })).body
      .operation_id
    expect((await Promise.all([...ids, urgent].map((id) => op(g, id)))).map((o) => o.status)).toEqual([
      'pending',
      'pending',
      'pending',
      'pending',
    ])
    await until(() => h.running.has(first), 10_000, 'the first invocation on the host')
    await h.finish(first)
    await until(
      async () => (await Promise.all([first, ...ids, urgent].map((id) => op(g, id)))).every((o) => o.status === 'completed'),
      10_000,
    )
    expect(h.received.map((d) => d.operation_id)).toEqual([first, urgent, ...ids])
    // queue:false refuses instead of waiting (the slot is held until the test ends).
    const holder = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } } })).body.operation_id
    await until(() => h.running.has(holder), 10_000, 'the holder on the host')
    const refused = await g.api('/api/v1/functions/echo/invoke', { body: { input: {}, queue: false } })
    expect(refused.status).toBe(503)
  })

  it('placement: prefers GPU hosts when asked, require_gpu waits for one, worker types filter', async () => {
    const g = await gw()
    await host(g, 'cpu-a', { workerType: 'backtesting' })
    await host(g, 'cpu-b', { workerType: 'training' })
    const gpuHost = await host(g, 'gpu', { workerType: 'training', capabilities: { gpu: true } })
    const a = await g.api<Operation>('/api/v1/functions/gpu-job/invoke', { body: { input: { delay_ms: 300 } } })
    await until(async () => (await op(g, a.body.operation_id)).worker_id)
    expect((await op(g, a.body.operation_id)).worker_id).toBe('gpu')
    // GPU busy: a GPU-preferring job falls back to a CPU host…
    const b = await g.api<Operation>('/api/v1/functions/gpu-job/invoke', { body: { input: {}, wait_seconds: 5 } })
    expect(b.body.worker_id).not.toBe('gpu')
    // …but require_gpu waits for the GPU host.
    const c = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: {}, require_gpu: true, wait_seconds: 5 } })
    expect(c.body.status).toBe('completed')
    expect(c.body.worker_id).toBe('gpu')
    expect(gpuHost.received.map((d) => d.operation_id)).toEqual([a.body.operation_id, c.body.operation_id])
    const n = await g.api<Operation>('/api/v1/functions/needs-gpu/invoke', { body: { input: {}, wait_seconds: 5 } })
    expect(n.body.worker_id).toBe('gpu')
    const bt = await g.api<Operation>('/api/v1/functions/bt-only/invoke', { body: { input: {}, wait_seconds: 5 } })
    expect(bt.body.worker_id).toBe('cpu-a')
  })

  it('says why an operation waits when no registered host can run it, and runs it once one registers', async () => {
    const g = await gw()
    await host(g, 'cpu-only')
    const queued = await g.api<Operation & { warnings?: string[] }>('/api/v1/functions/needs-gpu/invoke', { body: { input: {} } })
    expect(queued.status).toBe(202)
    expect(queued.body.status).toBe('pending')
    expect(queued.body.warnings).toEqual([expect.stringContaining('No registered host can run needs-gpu yet (needs gpu)')])
    // A capable host is there now: no warning, and the waiting operation runs on it.
    await host(g, 'gpu-late', { capabilities: { gpu: true } })
    await until(async () => (await op(g, queued.body.operation_id)).status === 'completed')
    expect((await op(g, queued.body.operation_id)).worker_id).toBe('gpu-late')
    const placed = await g.api<Operation & { warnings?: string[] }>('/api/v1/functions/needs-gpu/invoke', {
      body: { input: {}, wait_seconds: 5 },
    })
    expect(placed.body.warnings).toBeUndefined()
    expect(placed.body.worker_id).toBe('gpu-late')
  })

  it('a refused dispatch (503) moves on to the next capable host', async () => {
    const g = await gw()
    const refuser = await host(g, 'refuser', { capabilities: { gpu: true } })
    refuser.state.refuse = true
    await host(g, 'taker')
    const r = await g.api<Operation>('/api/v1/functions/gpu-job/invoke', { body: { input: {}, wait_seconds: 5 } })
    expect(r.body.status).toBe('completed')
    expect(r.body.worker_id).toBe('taker')
    expect(r.body.attempts).toBe(1)
    expect(refuser.state.dispatchCalls).toBeGreaterThanOrEqual(1)
  })

  it('spreads concurrent work: least loaded first, then least recently used', async () => {
    const g = await gw()
    const hosts = await Promise.all(['a', 'b', 'c'].map((id) => host(g, id)))
    const rs = await Promise.all(
      Array.from({ length: 3 }, () => g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 200 } } })),
    )
    await until(() => hosts.every((h) => h.received.length === 1), 5000, 'one per host')
    expect(hosts.map((h) => h.received.length)).toEqual([1, 1, 1])
    await until(async () => (await Promise.all(rs.map((r) => op(g, r.body.operation_id)))).every((o) => o.status === 'completed'))
    const firstWave = await Promise.all(rs.map((r) => op(g, r.body.operation_id)))
    expect(new Set(firstWave.map((o) => o.worker_id)).size).toBe(3)
    // All idle now: one call at a time goes to the least recently used host, so three calls rotate.
    const rotation: string[] = []
    for (let i = 0; i < 3; i++) {
      const r = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 1 } } })
      await until(async () => (await op(g, r.body.operation_id)).status === 'completed')
      rotation.push((await op(g, r.body.operation_id)).worker_id!)
    }
    expect(new Set(rotation).size).toBe(3)
    expect(hosts.map((h) => h.received.length)).toEqual([2, 2, 2])
  })

  it('a host that dies holding an operation: the operation is re-queued and completes elsewhere', async () => {
    const g = await gw()
    const doomed = await host(g, 'doomed')
    const r = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } } })
    await until(() => doomed.running.size === 1)
    await until(async () => (await op(g, r.body.operation_id)).status === 'running')
    const requeued = new Promise<string>((resolve) => g.gateway.services.hooks.on('operation:requeued', (_o, reason) => resolve(reason)))
    const t0 = Date.now()
    doomed.kill()
    expect(await requeued).toMatch(/doomed/)
    expect(Date.now() - t0).toBeLessThan(3000)
    expect((await g.api<WorkerRecord>('/api/v1/workers/doomed')).body.status).toBe('TEMPORARILY_UNAVAILABLE')
    const rescuer = await host(g, 'rescuer')
    // Shorten the remaining run: the rescuer gets attempt 2 of the same input; finish it by hand.
    await until(() => rescuer.received.length === 1)
    expect(rescuer.received[0].attempt).toBe(2)
    await g.api(`/api/v1/workers/rescuer/events`, {
      headers: rescuer.asHost,
      body: {
        events: [
          { seq: 99, type: 'completed', operation_id: r.body.operation_id, attempt: 2, at: new Date().toISOString(), result: { ok: true } },
        ],
      },
    })
    const done = await op(g, r.body.operation_id)
    expect(done.status).toBe('completed')
    expect(done.worker_id).toBe('rescuer')
    expect(done.attempts).toBe(2)
  })

  it('fails the operation once max_attempts hosts have died under it', async () => {
    const g = await gw()
    const r = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 }, max_attempts: 1 } })
    const h = await host(g, 'only')
    await until(async () => (await op(g, r.body.operation_id)).status === 'running')
    h.kill()
    const failed = await until(async () => {
      const o = await op(g, r.body.operation_id)
      return o.status === 'failed' ? o : null
    }, 5000)
    expect(failed.error?.code).toBe('HOST_LOST')
    expect(failed.error?.message).toMatch(/only/)
  })
})

describe('operations', () => {
  it('cancels pending and running operations; 400 when already finished; resume re-queues', async () => {
    const g = await gw()
    const h = await host(g, 'h')
    const running = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } } })
    const pending = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 10 } } })
    await until(() => h.running.size === 1)
    await until(async () => (await op(g, running.body.operation_id)).status === 'running')
    expect((await g.api(`/api/v1/operations/${pending.body.operation_id}`, { method: 'DELETE' })).body.status).toBe('cancelled')
    expect((await g.api(`/api/v1/operations/${running.body.operation_id}`, { method: 'DELETE' })).body.status).toBe('cancelled')
    await until(() => h.running.size === 0, 3000, 'host told to stop')
    expect((await g.api(`/api/v1/operations/${running.body.operation_id}`, { method: 'DELETE' })).status).toBe(400)
    // A late 'completed' from the host cannot revive a cancelled operation.
    expect((await op(g, running.body.operation_id)).status).toBe('cancelled')
    const resumed = await g.api(`/api/v1/operations/${pending.body.operation_id}/resume`, { method: 'POST' })
    expect(resumed.status).toBe(200)
    const done = await until(async () => {
      const o = await op(g, pending.body.operation_id)
      return o.status === 'completed' ? o : null
    })
    expect(done.metadata.resumed_from_attempt).toBe(0)
    expect((await g.api(`/api/v1/operations/${pending.body.operation_id}/resume`, { method: 'POST' })).status).toBe(409)
  })

  it('parent_operation_id: children are listed under their parent, and cancelling the parent cancels them (running ones on their host)', async () => {
    const g = await gw()
    const h = await host(g, 'h')
    const parent = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } } })
    const pid = parent.body.operation_id
    await until(() => h.running.size === 1)
    const h2 = await host(g, 'h2')
    const child = await g.api<Operation>('/api/v1/functions/echo/invoke', {
      body: { input: { delay_ms: 60_000 }, parent_operation_id: pid },
    })
    expect(child.body.parent_operation_id).toBe(pid)
    const grandchild = await g.api<Operation>('/api/v1/functions/echo/invoke', {
      body: { input: {}, parent_operation_id: child.body.operation_id },
    })
    await g.api('/api/v1/functions/echo/invoke', { body: { input: {}, wait_seconds: 0 } }) // unrelated
    await until(() => h2.running.size === 1)
    const children = await g.api<{ data: Operation[]; total_count: number }>(`/api/v1/operations/${pid}/children`)
    expect(children.body.data.map((o) => o.operation_id)).toEqual([child.body.operation_id])
    expect(children.body.total_count).toBe(1)
    expect((await g.api<{ data: Operation[] }>(`/api/v1/operations/${child.body.operation_id}/children`)).body.data).toHaveLength(1)
    const cancelled = await g.api<Operation & { cancelled_children: string[] }>(`/api/v1/operations/${pid}`, { method: 'DELETE' })
    expect(cancelled.body.cancelled_children.sort()).toEqual([child.body.operation_id, grandchild.body.operation_id].sort())
    for (const id of [pid, child.body.operation_id, grandchild.body.operation_id]) expect((await op(g, id)).status).toBe('cancelled')
    await until(() => h.running.size === 0 && h2.running.size === 0, 3000, 'both hosts told to stop')
    const bad = await g.api('/api/v1/functions/echo/invoke', { body: { input: {}, parent_operation_id: 'a b' } })
    expect(bad.status).toBe(400)
    expect(JSON.stringify(bad.body)).toContain('parent_operation_id')
  })

  it('fails an operation whose host never reports, some grace after its timeout, and tells the host to stop', async () => {
    const g = await gw({ queue: { deadlineGraceMs: 300 } })
    const h = await host(g, 'silent')
    const r = await g.api<Operation>('/api/v1/functions/short/invoke', { body: { input: { delay_ms: 60_000 } } })
    const failed = await until(async () => {
      const o = await op(g, r.body.operation_id)
      return o.status === 'failed' ? o : null
    }, 5000)
    expect(failed.error?.code).toBe('FUNCTION_TIMEOUT')
    await until(() => h.running.size === 0, 3000, 'host told to cancel')
  })

  it('streams progress and the final state as server-sent events', async () => {
    const g = await gw()
    await host(g, 'h')
    const r = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 200, steps: 2 } } })
    const res = await fetch(`${g.url}/api/v1/operations/${r.body.operation_id}/events`)
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
    const text = await res.text()
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])
    expect(events[0]).toBe('state')
    expect(events).toContain('progress')
    expect(events.at(-1)).toBe('completed')
  })
})

describe('storage over HTTP', () => {
  it('serves the mounts to hosts with the cluster token (unstorage http driver round trip)', async () => {
    const { createStorage } = await import('unstorage')
    const { default: httpDriver } = await import('unstorage/drivers/http')
    const g = await gw({ apiToken: 'api', clusterToken: 'cluster' })
    const remote = createStorage({
      driver: httpDriver({ base: `${g.url}/api/v1/storage/results`, headers: { authorization: 'Bearer cluster' } }),
    })
    await remote.setItemRaw('runs/r1.bin', new Uint8Array([1, 2, 3, 250]))
    await remote.setItem('runs/r1.json', { ok: true })
    expect(new Uint8Array((await g.gateway.services.storage.results.getItemRaw('runs/r1.bin')) as Buffer)).toEqual(
      new Uint8Array([1, 2, 3, 250]),
    )
    expect(await remote.getItem('runs/r1.json')).toEqual({ ok: true })
    expect((await remote.getKeys('runs')).sort()).toEqual(['runs:r1.bin', 'runs:r1.json'])
    expect((await g.api('/api/v1/storage/results/runs/r1.json')).status).toBe(401)
    expect((await g.api('/api/v1/storage/nope/x', { headers: { authorization: 'Bearer cluster' } })).status).toBe(404)
  })

  it('caps a chunked storage upload (no content-length) like a declared one: 413, nothing stored', async () => {
    const g = await gw({ apiToken: 'api', clusterToken: 'cluster', maxBundleBytes: 4096 })
    const chunked = (bytes: number) =>
      fetch(`${g.url}/api/v1/storage/results/big.bin`, {
        method: 'PUT',
        headers: { authorization: 'Bearer cluster', 'content-type': 'application/octet-stream' },
        // A stream body has no length: fetch sends it with transfer-encoding: chunked.
        body: new ReadableStream({
          start(controller) {
            for (let sent = 0; sent < bytes; sent += 1024) controller.enqueue(new Uint8Array(Math.min(1024, bytes - sent)).fill(7))
            controller.close()
          },
        }),
        duplex: 'half',
      } as RequestInit)
    const over = await chunked(64 * 1024)
    expect(over.status).toBe(413)
    expect(((await over.json()) as { code: string }).code).toBe('BODY_TOO_LARGE')
    expect(await g.gateway.services.storage.results.hasItem('big.bin')).toBe(false)
    const under = await chunked(3000)
    expect(under.status).toBeLessThan(300)
    expect(((await g.gateway.services.storage.results.getItemRaw('big.bin')) as Buffer).length).toBe(3000)
  })
})
