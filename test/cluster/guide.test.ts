// The deployment guide's "Verification & Testing" section against a real local cluster:
// in-process gateway, three real function hosts, the real echo bundle.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation, WorkerRecord } from '../../runtime/protocol/index.ts'
import { createGateway, type Gateway } from '../../runtime/gateway/index.ts'
import { createHost, type KtrdrHost } from '../../runtime/host/index.ts'
import { api, buildEcho, publish, until } from '../kit/index.ts'

let root: string
let gateway: Gateway
let hosts: KtrdrHost[] = []
const get = <T = any>(path: string) => api<T>(gateway.url, path).then((r) => r.body)
/** Node 20 has no Object.groupBy; this is jq's group_by. */
function groupBy<T>(items: T[], key: (t: T) => string): Record<string, T[]> {
  const out: Record<string, T[]> = {}
  for (const item of items) (out[key(item)] ??= []).push(item)
  return out
}
const op = (id: string) => get<Operation>(`/api/v1/operations/${id}`)

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktrdr-guide-'))
  const storage = { root: join(root, 'store') }
  gateway = await createGateway({ port: 0, quiet: true, dbPath: join(root, 'gateway.db'), storage, apiToken: null, clusterToken: null })
  const { archive } = await buildEcho(join(root, 'build'))
  await publish(gateway.url, 'echo', archive)
  const specs = [
    { workerId: 'ktrdr-worker-bt-1', workerType: 'backtesting' },
    { workerId: 'ktrdr-worker-bt-2', workerType: 'backtesting' },
    // The guide's GPU training host; the GPU is declared (detection is the host area's test).
    { workerId: 'training-host-1', workerType: 'training', gpu: { gpu_type: 'CUDA' as const, gpu_count: 1, gpu_memory_gb: 24 } },
  ]
  hosts = await Promise.all(
    specs.map((s) => createHost({ ...s, apiUrl: gateway.url, port: 0, storage, detectGpu: false, logLevel: 'warn', clusterToken: null })),
  )
  await Promise.all(hosts.map((h) => h.registered))
}, 180_000)

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close({ timeoutMs: 2000 }).catch(() => {})))
  await gateway?.close()
  await rm(root, { recursive: true, force: true })
})

describe('deployment guide verification', () => {
  it('2. lists every registered worker as AVAILABLE and counts them by type', async () => {
    const workers = await get<WorkerRecord[]>('/api/v1/workers')
    // jq -r '.[] | "\(.worker_id): \(.status)"'
    expect(workers.map((w) => `${w.worker_id}: ${w.status}`).sort()).toEqual([
      'ktrdr-worker-bt-1: AVAILABLE',
      'ktrdr-worker-bt-2: AVAILABLE',
      'training-host-1: AVAILABLE',
    ])
    // jq 'group_by(.worker_type) | map({type: .[0].worker_type, count: length})'
    const groups = Object.entries(groupBy(workers, (w) => w.worker_type))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([type, list]) => ({ type, count: list!.length }))
    expect(groups).toEqual([
      { type: 'backtesting', count: 2 },
      { type: 'training', count: 1 },
    ])
    expect(await get('/api/v1/workers/health')).toEqual({ total_workers: 3, available: 3, busy: 0, temporarily_unavailable: 0 })
    for (const w of workers) expect(w.endpoint_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('3. start → progress → completed, the progress readable at .progress', async () => {
    const started = await api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', {
      body: { input: { message: 'guide', steps: 4, delay_ms: 800 } },
    })
    expect(started.status).toBe(202)
    const id = started.body.operation_id
    const midway = await until(
      async () => {
        const o = await op(id)
        return o.status === 'running' && o.progress.percentage > 0 && o.progress.percentage < 100 ? o : null
      },
      20_000,
      'progress between 0 and 100',
    )
    expect(midway.progress.current_step).toMatch(/^Step \d\/4$/)
    const done = await until(
      async () => {
        const o = await op(id)
        return o.status === 'completed' ? o : null
      },
      20_000,
      'completion',
    )
    expect(done.result).toMatchObject({ message: 'guide', operation_id: id, attempt: 1, worker_id: done.worker_id })
    expect(done.timings.bundle_ready_at).toBeTruthy()
  })

  it('5. ten concurrent invocations spread over the workers, all BUSY during the run and AVAILABLE after', async () => {
    let allBusy = false
    let queuedWhileFull = 0
    const off = gateway.services.hooks.on('worker:status', () => {
      if (gateway.services.workers.summary().busy !== 3) return
      allBusy = true
      queuedWhileFull = Math.max(queuedWhileFull, gateway.services.operations.counts().queued)
    })
    const ids = (
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', { body: { input: { message: `e2e-${i}`, delay_ms: 500 } } }),
        ),
      )
    ).map((r) => r.body.operation_id)
    const finished = await until(
      async () => {
        const ops = await Promise.all(ids.map(op))
        return ops.every((o) => o.status === 'completed') ? ops : null
      },
      60_000,
      'all ten completed',
    )
    off()
    expect(allBusy).toBe(true)
    // Ten operations, three single-slot hosts: the rest waited in the queue instead of a 503.
    expect(queuedWhileFull).toBeGreaterThan(0)
    const perWorker = groupBy(finished, (o) => o.worker_id!)
    expect(Object.keys(perWorker).sort()).toEqual(['ktrdr-worker-bt-1', 'ktrdr-worker-bt-2', 'training-host-1'])
    const after = await until(
      async () => {
        const w = await get<WorkerRecord[]>('/api/v1/workers')
        return w.every((x) => x.status === 'AVAILABLE') ? w : null
      },
      10_000,
      'all AVAILABLE again',
    )
    expect(after.every((w) => w.metadata.current_operation === null)).toBe(true)
  })

  it('4. GPU placement: prefer_gpu lands on the GPU host, falls back to CPU when it is busy; require_gpu waits for it', async () => {
    const first = await api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', {
      body: { input: { delay_ms: 1500 }, prefer_gpu: true },
    })
    const placed = await until(
      async () => {
        const o = await op(first.body.operation_id)
        return o.worker_id ? o : null
      },
      20_000,
      'placement',
    )
    expect(placed.worker_id).toBe('training-host-1')
    expect((await get<WorkerRecord>('/api/v1/workers/training-host-1')).capabilities).toMatchObject({
      gpu: true,
      gpu_type: 'CUDA',
      gpu_count: 1,
    })
    const fallback = await api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', {
      body: { input: {}, prefer_gpu: true, wait_seconds: 30 },
    })
    expect(fallback.body.worker_id).toMatch(/^ktrdr-worker-bt-/)
    const strict = await api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', {
      body: { input: {}, require_gpu: true, wait_seconds: 30 },
    })
    expect(strict.body.status).toBe('completed')
    expect(strict.body.worker_id).toBe('training-host-1')
    expect(Date.parse(strict.body.timings.started_at!)).toBeGreaterThanOrEqual(
      Date.parse((await op(first.body.operation_id)).completed_at!),
    )
  })

  it('a function that throws or exits fails its operation; the host stays AVAILABLE', async () => {
    for (const fail of ['throw', 'exit'] as const) {
      const r = await api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', { body: { input: { fail }, wait_seconds: 30 } })
      expect(r.status).toBe(200)
      expect(r.body.status).toBe('failed')
      expect(r.body.error?.message).toBeTruthy()
      const w = await get<WorkerRecord>(`/api/v1/workers/${r.body.worker_id}`)
      expect(w.status).not.toBe('TEMPORARILY_UNAVAILABLE')
    }
    const ok = await api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', {
      body: { input: { message: 'still fine' }, wait_seconds: 30 },
    })
    expect(ok.body.status).toBe('completed')
  })

  it('cancels a running operation on its host', async () => {
    const r = await api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', { body: { input: { steps: 100, delay_ms: 60_000 } } })
    await until(async () => (await op(r.body.operation_id)).progress.percentage > 0, 20_000, 'running with progress')
    const cancelled = await api<Operation>(gateway.url, `/api/v1/operations/${r.body.operation_id}`, { method: 'DELETE' })
    expect(cancelled.body.status).toBe('cancelled')
    const worker = cancelled.body.worker_id!
    await until(async () => (await get<WorkerRecord>(`/api/v1/workers/${worker}`)).status === 'AVAILABLE', 10_000, 'host free again')
    expect((await api(gateway.url, `/api/v1/operations/${r.body.operation_id}`, { method: 'DELETE' })).status).toBe(400)
  })

  it('rejects bad input with 400 / 404 / 409 / 413 / 422 without disturbing the cluster', async () => {
    expect((await api(gateway.url, '/api/v1/functions/echo/invoke', { body: { inputs: {} } })).status).toBe(400)
    expect((await api(gateway.url, '/api/v1/functions/echo/invoke', { body: { input: { message: 'x'.repeat(1_100_000) } } })).status).toBe(
      413,
    )
    const done = await api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', { body: { input: {}, wait_seconds: 30 } })
    expect((await api(gateway.url, `/api/v1/operations/${done.body.operation_id}/resume`, { method: 'POST' })).status).toBe(409)
    expect((await api(gateway.url, '/api/v1/functions/no-such-fn/invoke', { body: { input: {} } })).status).toBe(404)
    const bad = await api(gateway.url, '/api/v1/functions/echo/invoke', { body: { input: { steps: 'many' } } })
    expect(bad.status).toBe(422)
    expect(bad.body.message).toMatch(/input\.steps/)
    expect((await get('/api/v1/workers/health')).total_workers).toBe(3)
  })
})
