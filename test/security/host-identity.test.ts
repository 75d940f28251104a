// A worker id belongs to the host that registered it: a real gateway, a real host running a slow
// echo invocation, and everything the cluster token alone must not be enough for.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGateway, type Gateway } from '../../runtime/gateway/index.ts'
import { createHost, type KtrdrHost } from '../../runtime/host/index.ts'
import { HOST_SECRET_HEADER, type Operation, type WorkerRecord } from '../../runtime/protocol/index.ts'
import { buildEcho, publish, until } from '../kit/index.ts'

const API = 'api-token-identity'
const CLUSTER = 'cluster-token-identity'
let root: string
let storage: { root: string }
let gateway: Gateway
const hosts: KtrdrHost[] = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktrdr-identity-'))
  storage = { root: join(root, 'store') }
  gateway = await createGateway({ port: 0, quiet: true, dbPath: join(root, 'gateway.db'), storage, apiToken: API, clusterToken: CLUSTER })
  const { archive } = await buildEcho(join(root, 'build'))
  await publish(gateway.url, 'echo', archive, API)
}, 180_000)

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close({ timeoutMs: 1000 }).catch(() => {})))
  await gateway?.close()
  await rm(root, { recursive: true, force: true })
})

async function call<T = any>(
  path: string,
  init: { method?: string; body?: unknown; token?: string; secret?: string } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${init.token ?? API}`,
      ...(init.secret ? { [HOST_SECRET_HEADER]: init.secret } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  const text = await res.text()
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T }
}

const startHost = async (workerId: string, cacheDir: string) => {
  const h = await createHost({
    workerId,
    apiUrl: gateway.url,
    port: 0,
    storage,
    cacheDir,
    detectGpu: false,
    logLevel: 'silent',
    clusterToken: CLUSTER,
    register: { initialDelayMs: 50, maxDelayMs: 200 },
  })
  hosts.push(h)
  return h
}

describe('host identity', () => {
  let live: KtrdrHost
  let opId: string
  const op = async () => (await call<Operation>(`/api/v1/operations/${opId}`)).body

  beforeAll(async () => {
    live = await startHost('live', join(root, 'cache-live'))
    await live.registered
    const r = await call<Operation>('/api/v1/functions/echo/invoke', { body: { input: { message: 'slow', delay_ms: 60_000, steps: 60 } } })
    opId = r.body.operation_id
    await until(async () => (await op()).status === 'running', 30_000, 'the slow echo running')
  }, 60_000)

  it("the guide's test registration at a live host's endpoint neither evicts the host nor touches its operation", async () => {
    const r = await call('/api/v1/workers/register', {
      token: CLUSTER,
      body: { worker_id: 'test', worker_type: 'training', endpoint_url: live.url, capabilities: { gpu: true } },
    })
    expect(r.status).toBe(409)
    expect(r.body.code).toBe('ENDPOINT_IN_USE')
    expect(r.body.message).toContain('"live"')
    const workers = (await call<WorkerRecord[]>('/api/v1/workers')).body
    expect(workers.map((w) => [w.worker_id, w.status])).toEqual([['live', 'BUSY']])
    const o = await op()
    expect([o.status, o.worker_id, o.attempts]).toEqual(['running', 'live', 1])
  })

  it('refuses to give the id to a registration without its secret, from any endpoint (409 naming the id)', async () => {
    for (const [endpoint, secret] of [
      ['http://127.0.0.1:9', undefined],
      ['http://127.0.0.1:9', 'guessed'],
      [live.url, undefined],
    ] as const) {
      const r = await call('/api/v1/workers/register', {
        token: CLUSTER,
        secret,
        body: { worker_id: 'live', worker_type: 'general', endpoint_url: endpoint, capabilities: {} },
      })
      expect(r.status).toBe(409)
      expect(r.body.code).toBe('WORKER_ID_TAKEN')
      expect(r.body.message).toContain('"live"')
    }
    expect((await call<WorkerRecord>('/api/v1/workers/live')).body.endpoint_url).toBe(live.url)
  })

  it("refuses heartbeats and events for the id without its secret, and ignores another host's reports", async () => {
    expect((await call('/api/v1/workers/live/heartbeat', { token: CLUSTER, body: { running_operations: [], free_slots: 1 } })).status).toBe(
      403,
    )
    const forged = {
      events: [{ seq: 1, type: 'completed', operation_id: opId, attempt: 1, at: new Date().toISOString(), result: { forged: true } }],
    }
    expect((await call('/api/v1/workers/live/events', { token: CLUSTER, body: forged })).status).toBe(403)
    expect((await call('/api/v1/workers/live/events', { token: CLUSTER, secret: 'guessed', body: forged })).status).toBe(403)
    // A registered host of its own, reporting on an operation placed elsewhere: acknowledged, not applied.
    const intruder = await call('/api/v1/workers/register', {
      token: CLUSTER,
      body: { worker_id: 'intruder', worker_type: 'general', endpoint_url: 'http://127.0.0.1:9', capabilities: {} },
    })
    expect(intruder.status).toBe(200)
    expect(typeof intruder.body.host_secret).toBe('string')
    const ack = await call('/api/v1/workers/intruder/events', { token: CLUSTER, secret: intruder.body.host_secret, body: forged })
    expect(ack.status).toBe(200)
    const o = await op()
    expect([o.status, o.worker_id, o.result]).toEqual(['running', 'live', null])
    expect((await call('/api/v1/workers/intruder', { method: 'DELETE' })).status).toBe(200)
  })

  it('keeps the secret as a restart token: a restarted host process re-claims its id, a fresh one cannot', async () => {
    const token = (await readFile(join(root, 'cache-live', 'host-secret'), 'utf8')).trim()
    expect(token.length).toBeGreaterThanOrEqual(32)
    // The gateway stores only a hash of it.
    const row = await gateway.services.database.sql.get('SELECT * FROM host_secrets WHERE worker_id = ?', ['live'])
    expect(JSON.stringify(row)).not.toContain(token)

    expect((await call(`/api/v1/operations/${opId}`, { method: 'DELETE' })).status).toBe(200)
    await live.close({ timeoutMs: 5000 })
    const again = await startHost('live', join(root, 'cache-live'))
    await again.registered
    expect((await call<WorkerRecord>('/api/v1/workers/live')).body.endpoint_url).toBe(again.url)

    // A host without the restart token (fresh cache dir) cannot take the id over.
    const fresh = await call('/api/v1/workers/register', {
      token: CLUSTER,
      body: { worker_id: 'live', worker_type: 'general', endpoint_url: 'http://127.0.0.1:9', capabilities: {} },
    })
    expect(fresh.status).toBe(409)
    const proper = await call('/api/v1/workers/register', {
      token: CLUSTER,
      secret: token,
      body: { worker_id: 'live', worker_type: 'general', endpoint_url: again.url, capabilities: {} },
    })
    expect(proper.status).toBe(200)
    expect(proper.body.host_secret).toBeUndefined()
  }, 60_000)
})
