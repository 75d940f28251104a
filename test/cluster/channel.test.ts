// The host channel with real `ktrdr host` processes: calls and events travel over it, not over
// HTTP, and a host SIGKILLed mid-call is noticed through it and its operation runs again elsewhere.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGateway, type Gateway } from '../../runtime/gateway/index.ts'
import type { Operation } from '../../runtime/protocol/index.ts'
import { api, buildEcho, publish, until } from '../kit/index.ts'
import { freePort, spawnKtrdr, type KtrdrChild } from './_cluster.ts'

let root: string
let gw: Gateway
const hosts: Record<string, KtrdrChild> = {}
/** Requests the gateway served over HTTP, by path. */
const served: string[] = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktrdr-channel-'))
  const { archive } = await buildEcho(join(root, 'build'))
  const storage = { root: join(root, 'store') }
  // Heartbeat watch and polls far away: only a channel's close can notice a dead host in time.
  gw = await createGateway({
    port: 0,
    quiet: true,
    dbPath: join(root, 'gateway.db'),
    storage,
    apiToken: null,
    clusterToken: null,
    health: { heartbeatTimeoutMs: 60_000, intervalMs: 60_000 },
  })
  gw.server.on('request', (req) => served.push(req.url ?? ''))
  await publish(gw.url, 'echo', archive)
  for (const id of ['host-a', 'host-b']) {
    hosts[id] = spawnKtrdr(['host', '--api', gw.url, '--id', id, '--port', String(await freePort()), '--home', storage.root, '--no-gpu'], {
      KTRDR_API_TOKEN: '',
      KTRDR_CLUSTER_TOKEN: '',
    })
  }
  await until(
    () => ['host-a', 'host-b'].every((id) => gw.services.channels.connected().includes(id)),
    60_000,
    `both channels open\n${Object.values(hosts)
      .map((h) => h.output())
      .join('\n')}`,
    50,
  )
}, 240_000)

afterAll(async () => {
  await Promise.all(Object.values(hosts).map((h) => h.kill('SIGKILL')))
  await gw?.close()
  await rm(root, { recursive: true, force: true })
})

describe('host channel, real hosts', () => {
  it('a call goes down the channel and its events come back up it: no event push over HTTP', async () => {
    const before = served.length
    for (let i = 0; i < 5; i++) {
      const r = await api<Operation>(gw.url, '/api/v1/functions/echo/invoke', {
        body: { input: { message: `m${i}`, steps: 2 }, wait_seconds: 30 },
      })
      expect(r.body.status).toBe('completed')
      expect(r.body.progress.percentage).toBe(100)
    }
    expect(served.slice(before).filter((url) => url.includes('/events'))).toEqual([])
  })

  it('a host SIGKILLed mid-call: its channel closes, the operation is re-queued within 3 s and completes on the other host', async () => {
    const target = (
      await api<Operation>(gw.url, '/api/v1/functions/echo/invoke', { body: { input: { steps: 4, delay_ms: 4000 }, max_attempts: 2 } })
    ).body
    const running = await until(() => {
      const s = gw.services.operations.getLive(target.operation_id)
      return s?.op.status === 'running' && s.op.progress.percentage > 0 ? s.op : null
    }, 30_000)
    const victim = running.worker_id!
    const requeued = new Promise<{ at: number; reason: string }>((resolve) =>
      gw.services.hooks.on('operation:requeued', (op, reason) => {
        if (op.operation_id === target.operation_id) resolve({ at: performance.now(), reason })
      }),
    )
    const t0 = performance.now()
    await hosts[victim]!.kill('SIGKILL')
    const { at, reason } = await requeued
    expect(at - t0).toBeLessThan(3000)
    // Noticed by a connection closing (the channel's, or the heartbeat's keep-alive one when it closes first), not by a timeout.
    expect(reason).toMatch(/its (channel|connection) closed/)
    const done = await until(async () => {
      const o = (await api<Operation>(gw.url, `/api/v1/operations/${target.operation_id}`)).body
      return o.status === 'completed' ? o : null
    }, 30_000)
    expect(done.worker_id).not.toBe(victim)
    expect(done.attempts).toBe(2)
  })
})
