// A host stopped without draining (systemctl stop, a reboot) hands its running work back: the
// gateway runs it again on another host instead of reporting it cancelled.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation } from '../../runtime/protocol/index.ts'
import { createHost, type KtrdrHost } from '../../runtime/host/index.ts'
import { api, buildEcho, publish, startRealGateway, until, type RealGateway } from '../kit/index.ts'

let g: RealGateway
const hosts: KtrdrHost[] = []
const startHost = async (workerId: string) => {
  const host = await createHost({
    workerId,
    workerType: 'general',
    apiUrl: g.url,
    port: 0,
    storage: { root: g.store },
    detectGpu: false,
    logLevel: 'warn',
    clusterToken: null,
  })
  await host.registered
  hosts.push(host)
  return host
}
const op = async (id: string) => (await api<Operation>(g.url, `/api/v1/operations/${id}`)).body

beforeAll(async () => {
  g = await startRealGateway()
  const { archive } = await buildEcho(join(g.dir, 'build'))
  await publish(g.url, 'echo', archive)
}, 180_000)

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close({ timeoutMs: 1000 }).catch(() => {})))
  await g?.close()
})

describe('host shutdown with work still running', () => {
  it('re-queues the operation as a new attempt on another host; a user cancel stays final', async () => {
    const first = await startHost('leaving-host')
    const started = await api<Operation>(g.url, '/api/v1/functions/echo/invoke', {
      body: { input: { steps: 20, delay_ms: 20_000 }, max_attempts: 2 },
    })
    const id = started.body.operation_id
    await until(async () => (await op(id)).progress.percentage > 0, 20_000, 'first progress on leaving-host')
    expect((await op(id)).worker_id).toBe('leaving-host')

    await startHost('staying-host')
    // Shorter than the function: the host gives up waiting and hands the operation back.
    await first.close({ timeoutMs: 200 })

    const requeued = await until(
      async () => {
        const o = await op(id)
        return o.worker_id === 'staying-host' ? o : null
      },
      20_000,
      'the operation on staying-host',
    )
    expect(requeued.status).toBe('running')
    expect(requeued.attempts).toBe(2)
    expect(String(requeued.metadata.last_requeue_reason)).toContain('leaving-host shut down')

    // A user's cancel is still final: it is not re-queued.
    const cancelled = await api(g.url, `/api/v1/operations/${id}`, { method: 'DELETE' })
    expect(cancelled.status).toBe(200)
    const final = await until(
      async () => {
        const o = await op(id)
        return o.status !== 'running' ? o : null
      },
      20_000,
      'the cancel',
    )
    expect(final.status).toBe('cancelled')
    expect(final.attempts).toBe(2)
  })

  it('with no attempts left, the operation fails with a reason that says how to resume it', async () => {
    const host = hosts.find((h) => h.workerId === 'staying-host')!
    const started = await api<Operation>(g.url, '/api/v1/functions/echo/invoke', {
      body: { input: { steps: 20, delay_ms: 20_000 }, max_attempts: 1 },
    })
    const id = started.body.operation_id
    await until(async () => (await op(id)).progress.percentage > 0, 20_000, 'first progress')
    await host.close({ timeoutMs: 200 })
    const final = await until(
      async () => {
        const o = await op(id)
        return o.status === 'failed' ? o : null
      },
      20_000,
      'the failure',
    )
    expect(final.error?.message).toContain('shut down')
    expect(final.error?.message).toContain(`/api/v1/operations/${id}/resume`)
  })
})
