// Issue 3's deploy test against a real gateway (A's) with the real function registry and real hosts.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation } from '../../protocol/index.ts'
import { createHost, type KtrdrHost } from '../index.ts'
import {
  buildFunction,
  FUNCTION_FIXTURES,
  publish,
  startRealGateway,
  until,
  type BuiltFunction,
  type RealGateway,
} from '../../../test/kit/index.ts'
import { testHostConfig } from './_setup.ts'

let g: RealGateway
const hosts: KtrdrHost[] = []
let v1: BuiltFunction, v2: BuiltFunction

const deploy = (v: BuiltFunction) => publish(g.url, v.built.name, v.archive)
const invoke = async (spec: string, input: unknown, wait = 30): Promise<Operation> => {
  const res = await g.api<Operation>(`/api/v1/functions/${spec}/invoke`, { body: { input, wait_seconds: wait } })
  expect([200, 202]).toContain(res.status)
  return res.body
}
const getOp = async (id: string) => (await g.api<Operation>(`/api/v1/operations/${id}`)).body
async function startHost(id: string) {
  const host = await createHost(
    testHostConfig({
      apiUrl: g.url,
      workerId: id,
      storage: { root: g.store },
      cacheDir: join(g.dir, 'cache', id),
      slots: 2,
      register: { initialDelayMs: 50, maxDelayMs: 500 },
    }),
  )
  await host.registered
  hosts.push(host)
  return host
}

beforeAll(async () => {
  g = await startRealGateway()
  const out = join(g.dir, 'build')
  v1 = await buildFunction('echo', out)
  v2 = await buildFunction(join(FUNCTION_FIXTURES, 'echo-v2'), out)
  expect(v2.built.name).toBe('echo')
  expect(v2.built.sha256).not.toBe(v1.built.sha256)
  await startHost('ver-host-1')
  await startHost('ver-host-2')
})

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close({ timeoutMs: 1000 })))
  await g?.close()
})

describe('versioned deploys without reprovisioning', () => {
  it('deploy v1 → invoke → deploy v2 during a long v1 op → rollback → canary 50/50 → late host', async () => {
    const workersBefore = (await g.api<any[]>('/api/v1/workers')).body
    expect(workersBefore).toHaveLength(2)

    expect((await deploy(v1)).version).toBe(1)
    const first = await invoke('echo', { message: 'v1' })
    expect(first.status).toBe('completed')
    expect(first.function).toMatchObject({ version: 1, sha256: v1.built.sha256 })
    expect((first.result as any).variant).toBeUndefined()

    // A long v1 operation is running when v2 lands.
    const long = await invoke('echo', { delay_ms: 2500, steps: 25 }, 0)
    await until(async () => {
      const op = await getOp(long.operation_id)
      return op.status === 'running' && op.progress.percentage > 0
    })
    const published = await deploy(v2)
    expect(published.version).toBe(2)

    const after = await Promise.all([1, 2, 3].map(() => invoke('echo', { message: 'new' })))
    for (const op of after) {
      expect(op.status).toBe('completed')
      expect(op.function).toMatchObject({ version: 2, sha256: v2.built.sha256 })
      expect((op.result as any).variant).toBe('v2')
    }
    const longDone = await until(async () => {
      const op = await getOp(long.operation_id)
      return op.status !== 'running' && op.status !== 'pending' && op
    })
    expect(longDone.status).toBe('completed')
    expect(longDone.function.version).toBe(1)
    expect((longDone.result as any).variant).toBeUndefined()

    // Same host processes, never re-registered; the drained v1 executors exit.
    const workersAfter = (await g.api<any[]>('/api/v1/workers')).body
    for (const w of workersBefore) {
      const now = workersAfter.find((x) => x.worker_id === w.worker_id)
      expect(now.metadata.host_info.pid).toBe(w.metadata.host_info.pid)
      expect(now.metadata.host_info.started_at).toBe(w.metadata.host_info.started_at)
    }
    await until(() => !hosts.flatMap((h) => h.executors()).some((e) => e.version === 1))

    // Both hosts were told to prefetch v2: it shows as warm on them.
    await until(async () => (await g.api('/api/v1/functions/echo')).body.versions.find((v: any) => v.version === 2).warm_hosts.length === 2)

    // Rollback: latest → v1 again.
    expect((await g.api('/api/v1/functions/echo/rollback', { method: 'POST' })).body.routes).toEqual([{ version: 1, weight: 100 }])
    const rolledBack = await invoke('echo', {})
    expect(rolledBack.function.version).toBe(1)

    // Canary: 50/50 over many invocations lands on both within tolerance (±4 sd of a fair coin).
    expect(
      (
        await g.api('/api/v1/functions/echo/aliases/canary', {
          method: 'PUT',
          body: {
            routes: [
              { version: 1, weight: 50 },
              { version: 2, weight: 50 },
            ],
          },
        })
      ).status,
    ).toBe(200)
    const n = 60
    const ops: Operation[] = []
    for (let i = 0; i < n; i += 6) ops.push(...(await Promise.all(Array.from({ length: 6 }, () => invoke('echo@canary', {})))))
    const onV2 = ops.filter((op) => op.function.version === 2).length
    expect(ops.every((op) => op.status === 'completed')).toBe(true)
    expect(ops.every((op) => ((op.result as any).variant === 'v2') === (op.function.version === 2))).toBe(true)
    expect(onV2).toBeGreaterThan(n / 2 - 4 * Math.sqrt(n / 4))
    expect(onV2).toBeLessThan(n / 2 + 4 * Math.sqrt(n / 4))

    // A host that joins after the deploys runs what latest names (v1 after the rollback) from storage.
    const late = await startHost('ver-host-late')
    for (const h of ['ver-host-1', 'ver-host-2'])
      expect((await g.api(`/api/v1/workers/${h}/drain`, { method: 'POST' })).status).toBeLessThan(300)
    const onLate = await invoke('echo', { message: 'late' })
    expect(onLate.status).toBe('completed')
    expect(onLate.worker_id).toBe(late.workerId)
    expect(onLate.function.version).toBe(1)
    const onLateV2 = await invoke('echo@2', {})
    expect(onLateV2.worker_id).toBe(late.workerId)
    expect((onLateV2.result as any).variant).toBe('v2')
  })
})
