// Tokens end to end: API token for clients, cluster token between gateway and a real host.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGateway, type Gateway } from '../../runtime/gateway/index.ts'
import { createHost, type KtrdrHost } from '../../runtime/host/index.ts'
import type { Operation } from '../../runtime/protocol/index.ts'
import { buildEcho, publish, until } from '../kit/index.ts'

let root: string
let gateway: Gateway
const hosts: KtrdrHost[] = []
const API = 'api-token-for-tests'
const CLUSTER = 'cluster-token-for-tests'

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktrdr-auth-'))
  const storage = { root: join(root, 'store') }
  gateway = await createGateway({ port: 0, quiet: true, dbPath: join(root, 'gateway.db'), storage, apiToken: API, clusterToken: CLUSTER })
  const { archive } = await buildEcho(join(root, 'build'))
  await expect(publish(gateway.url, 'echo', archive)).rejects.toThrow(/401/)
  await publish(gateway.url, 'echo', archive, API)
  hosts.push(
    await createHost({
      workerId: 'trusted',
      apiUrl: gateway.url,
      port: 0,
      storage,
      detectGpu: false,
      logLevel: 'error',
      clusterToken: CLUSTER,
    }),
  )
  await hosts[0].registered
  hosts.push(
    await createHost({
      workerId: 'intruder',
      apiUrl: gateway.url,
      port: 0,
      storage,
      detectGpu: false,
      logLevel: 'silent',
      clusterToken: 'wrong',
      register: { initialDelayMs: 50, maxDelayMs: 100 },
    }),
  )
}, 180_000)

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close({ timeoutMs: 1000 }).catch(() => {})))
  await gateway?.close()
  await rm(root, { recursive: true, force: true })
})

describe('tokens', () => {
  const call = (path: string, init: RequestInit = {}, token: string | null = API) =>
    fetch(`${gateway.url}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    })

  it('runs an invocation through gateway and host with both tokens in force', async () => {
    const res = await call('/api/v1/functions/echo/invoke', {
      method: 'POST',
      body: JSON.stringify({ input: { message: 'secure' }, wait_seconds: 30 }),
    })
    expect(res.status).toBe(200)
    const op = (await res.json()) as Operation
    expect(op.status).toBe('completed')
    expect(op.worker_id).toBe('trusted')
  })

  it('keeps a host with the wrong cluster token out, and clients without the API token', async () => {
    // The intruder keeps retrying: wait until the gateway has refused it a few times.
    let refused = 0
    const onRequest = (req: { url?: string }, res: { statusCode: number; once(e: 'finish', f: () => void): void }) => {
      if (req.url === '/api/v1/workers/register')
        res.once('finish', () => {
          if (res.statusCode === 401) refused++
        })
    }
    gateway.server.on('request', onRequest)
    await until(() => refused >= 3, 10_000, 'three refused registrations')
    gateway.server.off('request', onRequest)
    const workers = (await (await call('/api/v1/workers')).json()) as Array<{ worker_id: string }>
    expect(workers.map((w) => w.worker_id)).toEqual(['trusted'])
    expect((await call('/api/v1/workers', {}, null)).status).toBe(401)
    expect((await call('/api/v1/workers', {}, CLUSTER)).status).toBe(401)
    expect((await call('/health', {}, null)).status).toBe(200)
    // The host's own API refuses calls without the cluster token.
    expect(
      (await fetch(`${hosts[0].url}/invocations`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status,
    ).toBe(401)
  })
})
