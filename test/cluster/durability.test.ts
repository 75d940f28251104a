// Crash tests with real processes: `ktrdr gateway` and `ktrdr host` children, SIGKILLed mid-work.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Operation, WorkerRecord } from '../../runtime/protocol/index.ts'
import { api, buildEcho, publish, until } from '../kit/index.ts'
import { freePort, spawnKtrdr, type KtrdrChild } from './_cluster.ts'

let root: string
let archive: Uint8Array
const children: KtrdrChild[] = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktrdr-crash-'))
  archive = (await buildEcho(join(root, 'build'))).archive
}, 180_000)
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')))
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

async function startGateway(dir: string, port: number, env: Record<string, string> = {}): Promise<{ child: KtrdrChild; url: string }> {
  const child = spawnKtrdr(['gateway', '--port', String(port), '--db', join(dir, 'gateway.db'), '--home', join(dir, 'store')], {
    KTRDR_API_TOKEN: '',
    KTRDR_CLUSTER_TOKEN: '',
    ...env,
  })
  children.push(child)
  const url = `http://127.0.0.1:${port}`
  await until(async () => (await fetch(`${url}/health`)).ok, 30_000, `gateway on ${port}\n${child.output()}`, 100)
  return { child, url }
}

async function startHost(dir: string, gatewayUrl: string, id: string): Promise<KtrdrChild & { url: string }> {
  const port = await freePort()
  const child = spawnKtrdr(['host', '--api', gatewayUrl, '--id', id, '--port', String(port), '--home', join(dir, 'store'), '--no-gpu'], {
    KTRDR_API_TOKEN: '',
    KTRDR_CLUSTER_TOKEN: '',
  })
  children.push(child)
  await until(
    async () => (await api(gatewayUrl, `/api/v1/workers/${id}`)).status === 200,
    30_000,
    `host ${id} registered\n${child.output()}`,
    100,
  )
  return Object.assign(child, { url: `http://127.0.0.1:${port}` })
}

const op = (url: string, id: string) => api<Operation>(url, `/api/v1/operations/${id}`).then((r) => r.body)
const invoke = (url: string, input: unknown, extra: Record<string, unknown> = {}) =>
  api<Operation>(url, '/api/v1/functions/echo/invoke', { body: { input, ...extra } }).then((r) => r.body)

describe('crashes', () => {
  it('gateway SIGKILL and restart: nothing queued, running or finished is lost', async () => {
    const dir = join(root, 'gw-kill')
    const port = await freePort()
    let gw = await startGateway(dir, port)
    await publish(gw.url, 'echo', archive)
    const hostA = await startHost(dir, gw.url, 'host-a')
    const hostB = await startHost(dir, gw.url, 'host-b')
    const finished = await api<Operation>(gw.url, '/api/v1/functions/echo/invoke', {
      body: { input: { message: 'before' }, wait_seconds: 30 },
    })
    expect(finished.body.status).toBe('completed')
    // One long operation, one that finishes while the gateway is down (replayed at re-registration).
    const running = [await invoke(gw.url, { steps: 4, delay_ms: 4000 }), await invoke(gw.url, { steps: 2, delay_ms: 1500 })]
    const queued = await invoke(gw.url, { message: 'queued' })
    await until(
      async () => (await Promise.all(running.map((r) => op(gw.url, r.operation_id)))).every((o) => o.status === 'running'),
      20_000,
      'both running',
    )
    expect((await op(gw.url, queued.operation_id)).status).toBe('pending')
    // A caller waiting when the gateway dies: its row is written within the write window though
    // nobody asked for it (the caller has no answer yet), so it is there after the restart.
    const waitedFor = api<Operation>(gw.url, '/api/v1/functions/echo/invoke', {
      body: { input: { message: 'waiting' }, wait_seconds: 30 },
    }).catch((error: Error) => error)
    const reader = new Database(join(dir, 'gateway.db'), { readonly: true })
    const waitingRow = reader.prepare(`SELECT operation_id FROM operations WHERE data LIKE '%"message":"waiting"%'`).pluck()
    const waitingId = await until(() => (waitingRow.get() as string | undefined) ?? null, 20_000, 'the waiting call’s row', 20)
    reader.close()

    await gw.child.kill('SIGKILL')
    // Wait until the short one has finished on its host, with no gateway to tell.
    const shortId = running[1].operation_id
    await until(
      async () => {
        const states = await Promise.all(
          [hostA, hostB].map(async (h) => (await api<{ running_operations: string[] }>(h.url, '/health')).body.running_operations),
        )
        return states.every((ops) => !ops.includes(shortId))
      },
      20_000,
      'short operation finished during the outage',
    )
    gw = await startGateway(dir, port)

    expect((await op(gw.url, finished.body.operation_id)).status).toBe('completed')
    // Hosts re-register on their own (heartbeat → 404 → register) and re-attach their work.
    await until(async () => (await api<WorkerRecord[]>(gw.url, '/api/v1/workers')).body.length === 2, 20_000, 'hosts re-registered')
    await waitedFor
    const all = [...running.map((o) => o.operation_id), queued.operation_id, waitingId]
    const done = await until(
      async () => {
        const ops = await Promise.all(all.map((id) => op(gw.url, id)))
        return ops.every((o) => o.status === 'completed') ? ops : null
      },
      30_000,
      'everything completed',
    )
    // Running work was re-attached (same attempt), not run again.
    expect(done.slice(0, 2).map((o) => o.attempts)).toEqual([1, 1])
    expect(done[3]!.result).toMatchObject({ message: 'waiting' })
    expect((await api<{ total_count: number }>(gw.url, '/api/v1/operations?limit=10')).body.total_count).toBe(5)
  })

  it('host SIGKILL mid-operation: the operation is re-queued within 3 s and completes on another host', async () => {
    const dir = join(root, 'host-kill')
    const gw = await startGateway(dir, await freePort())
    await publish(gw.url, 'echo', archive)
    const hosts = { 'host-x': await startHost(dir, gw.url, 'host-x'), 'host-y': await startHost(dir, gw.url, 'host-y') } as Record<
      string,
      KtrdrChild
    >
    const target = await invoke(gw.url, { steps: 4, delay_ms: 4000 }, { max_attempts: 2 })
    const running = await until(
      async () => {
        const o = await op(gw.url, target.operation_id)
        return o.status === 'running' && o.progress.percentage > 0 ? o : null
      },
      20_000,
      'running with progress',
    )
    const victim = running.worker_id!
    const t0 = Date.now()
    await hosts[victim].kill('SIGKILL')
    await until(
      async () => {
        const o = await op(gw.url, target.operation_id)
        return o.attempts === 2 || o.status === 'pending' ? o : null
      },
      10_000,
      're-queued',
      10,
    )
    const detectMs = Date.now() - t0
    expect(detectMs).toBeLessThan(3000)
    const done = await until(
      async () => {
        const o = await op(gw.url, target.operation_id)
        return o.status === 'completed' ? o : null
      },
      30_000,
      'completed elsewhere',
    )
    expect(done.worker_id).not.toBe(victim)
    expect(done.attempts).toBe(2)
    expect(done.metadata.last_requeue_reason).toMatch(new RegExp(victim))
    expect((await api<WorkerRecord>(gw.url, `/api/v1/workers/${victim}`)).body.status).toBe('TEMPORARILY_UNAVAILABLE')
  })

  it('health state machine with shortened intervals: a frozen host goes TEMPORARILY_UNAVAILABLE, recovers, is removed, re-registers', async () => {
    const dir = join(root, 'health')
    // The guide's variables, in seconds: poll every 0.3 s, 0.2 s timeout, 3 failures, removal after 3 s.
    const gw = await startGateway(dir, await freePort(), {
      KTRDR_WORKER_HEALTH_CHECK_INTERVAL: '0.3',
      KTRDR_WORKER_HEALTH_CHECK_TIMEOUT: '0.2',
      KTRDR_WORKER_HEALTH_CHECK_FAILURES: '3',
      KTRDR_WORKER_REMOVAL_THRESHOLD: '3',
    })
    const host = await startHost(dir, gw.url, 'frozen')
    const status = async () => {
      const r = await api<WorkerRecord>(gw.url, '/api/v1/workers/frozen')
      return r.status === 404 ? 'GONE' : r.body.status
    }
    expect(await status()).toBe('AVAILABLE')
    // SIGSTOP: the process and its sockets stay, it just stops answering (a hung host, not a dead one).
    host.proc.kill('SIGSTOP')
    await until(async () => (await status()) === 'TEMPORARILY_UNAVAILABLE', 10_000, 'TEMPORARILY_UNAVAILABLE')
    expect((await api<WorkerRecord>(gw.url, '/api/v1/workers/frozen')).body.health_check_failures).toBeGreaterThanOrEqual(3)
    host.proc.kill('SIGCONT')
    await until(async () => (await status()) === 'AVAILABLE', 10_000, 'AVAILABLE again')
    host.proc.kill('SIGSTOP')
    await until(async () => (await status()) === 'GONE', 15_000, 'removed after the threshold')
    host.proc.kill('SIGCONT')
    // Its next heartbeat gets a 404 and it registers again by itself.
    await until(async () => (await status()) === 'AVAILABLE', 15_000, 're-registered')
  })
})
