// A function that declares `concurrency` shares an executor between invocations (runtime/host/_executors.ts):
// packed up to its capacity, started once for a burst, retired after an interrupted invocation, and
// output it prints kept out of operations' logs because it cannot be told apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { ofetch } from 'ofetch'
import { createHost, type KtrdrHost } from '../index.ts'
import type { HostEvent, HostLogEvent } from '../../protocol/index.ts'
import { FUNCTION_FIXTURES, tempStorage, type TempStorage } from '../../../test/kit/index.ts'
import { buildAndStore, dispatchRequest, invokeAndWait, testHostConfig, type Published } from './_setup.ts'
import { startFakeGateway } from './_fake-gateway.ts'

let env: TempStorage
let shared: Published
let alone: Published
let host: KtrdrHost
let gateway: Awaited<ReturnType<typeof startFakeGateway>>

beforeAll(async () => {
  env = await tempStorage('ktrdr-host-concurrency-')
  ;[shared, alone] = await Promise.all([
    buildAndStore(join(FUNCTION_FIXTURES, 'echo-shared'), env.storage, join(env.root, 'build-shared')),
    buildAndStore('echo', env.storage, join(env.root, 'build-echo')),
  ])
  gateway = await startFakeGateway()
  host = await createHost(
    testHostConfig({
      apiUrl: gateway.url,
      storage: { root: env.storageRoot },
      cacheDir: join(env.root, 'cache'),
      slots: 14,
      executorMemoryMb: 96,
      cancelGraceMs: 500,
    }),
  )
  await host.registered
}, 120_000)

afterAll(async () => {
  await host?.close({ timeoutMs: 1000 })
  await gateway?.close()
  await env?.cleanup()
})

const long = { delay_ms: 60_000, steps: 600 }
const started = (id: string) => gateway.until(() => gateway.eventsFor(id).some((e) => e.type === 'progress'))
const pidOf = (outcome: { result?: { pid?: number } }) => outcome.result?.pid

describe('a function that declares concurrency', () => {
  it('the manifest carries it; a function that declares none has none', () => {
    expect(shared.built.manifest.concurrency).toBe(12)
    expect(alone.built.manifest).not.toHaveProperty('concurrency')
  })

  it('a burst of 13, capacity 12: one executor started for 12 of them, a second for the 13th', async () => {
    // The host runs in this process: a listener per invocation on a shared child would trip Node's leak warning.
    const warnings: string[] = []
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`)
    process.on('warning', onWarning)
    try {
      // All arrive before any executor is ready: they wait for the one starting instead of each starting their own.
      const requests = Array.from({ length: 13 }, (_, i) => dispatchRequest(shared.ref, { message: `m${i}`, delay_ms: 300 }))
      const outcomes = await Promise.all(requests.map((r) => invokeAndWait(host.url, r)))
      expect(outcomes.map((o) => o.status)).toEqual(Array.from({ length: 13 }, () => 'completed'))
      expect(outcomes.map((o) => o.result.message)).toEqual(requests.map((_, i) => `m${i}`))
      const pids = outcomes.map(pidOf)
      const counts = [...new Set(pids)].map((p) => pids.filter((q) => q === p).length).sort((a, b) => a - b)
      expect(counts).toEqual([1, 12])
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('a warm executor with room takes the next invocation while it runs another', async () => {
    const first = dispatchRequest(shared.ref, long)
    const firstDone = invokeAndWait(host.url, first)
    await started(first.operation_id)
    const busy = host.executors().find((e) => e.busy && e.name === 'echo-shared')!
    expect(busy.active).toBe(1)
    const second = await invokeAndWait(host.url, dispatchRequest(shared.ref, { message: 'beside' }))
    expect(second.status).toBe('completed')
    expect(pidOf(second)).toBe(busy.pid)
    await ofetch(`${host.url}/invocations/${first.operation_id}`, { method: 'DELETE' })
    expect((await firstDone).status).toBe('cancelled')
  })

  it('without a declaration, two invocations at once run in two processes', async () => {
    const a = dispatchRequest(alone.ref, long)
    const aDone = invokeAndWait(host.url, a)
    await started(a.operation_id)
    const b = await invokeAndWait(host.url, dispatchRequest(alone.ref, {}))
    expect(b.status).toBe('completed')
    const aPid = host.executors().find((e) => e.busy && e.name === 'echo')!.pid
    expect(pidOf(b)).not.toBe(aPid)
    await ofetch(`${host.url}/invocations/${a.operation_id}`, { method: 'DELETE' })
    expect((await aDone).status).toBe('cancelled')
  })

  it('a cancelled invocation leaves the others running; the executor takes no more and exits after them', async () => {
    const a = dispatchRequest(shared.ref, long)
    const b = dispatchRequest(shared.ref, { delay_ms: 1500 })
    const [aDone, bDone] = [invokeAndWait(host.url, a), invokeAndWait(host.url, b)]
    await Promise.all([started(a.operation_id), gateway.until(() => gateway.eventsFor(b.operation_id).some((e) => e.type === 'started'))])
    const pid = host.executors().find((e) => e.name === 'echo-shared' && e.active === 2)!.pid
    await ofetch(`${host.url}/invocations/${a.operation_id}`, { method: 'DELETE' })
    expect((await aDone).status).toBe('cancelled')
    expect(host.executors().find((e) => e.pid === pid)).toMatchObject({ retired: true, active: 1 })
    // A new invocation meanwhile goes to another executor, not to the interrupted one.
    const c = await invokeAndWait(host.url, dispatchRequest(shared.ref, {}))
    expect(pidOf(c)).not.toBe(pid)
    const bOutcome = await bDone
    expect(bOutcome.status).toBe('completed')
    expect(pidOf(bOutcome)).toBe(pid)
    await expect.poll(() => host.executors().some((e) => e.pid === pid), { timeout: 5000 }).toBe(false)
  })

  it('one that ignores its cancel takes the executor down with the others in it, and they say why', async () => {
    const stubborn = dispatchRequest(shared.ref, { ...long, ignore_abort: true })
    const other = dispatchRequest(shared.ref, long)
    const [stubbornDone, otherDone] = [invokeAndWait(host.url, stubborn), invokeAndWait(host.url, other)]
    await Promise.all([started(stubborn.operation_id), started(other.operation_id)])
    await ofetch(`${host.url}/invocations/${stubborn.operation_id}`, { method: 'DELETE' })
    expect((await stubbornDone).status).toBe('cancelled')
    const outcome = await otherDone
    expect(outcome.status).toBe('failed')
    expect(outcome.error.code).toBe('FUNCTION_CRASHED')
    expect(outcome.error.message).toContain(`stopped with the executor it shared (concurrency 12): ${stubborn.operation_id} did not stop`)
    expect((await invokeAndWait(host.url, dispatchRequest(shared.ref, {}))).status).toBe('completed')
  })

  it("what it prints stays out of operations' logs; its ctx.logger lines go to its own", async () => {
    const request = dispatchRequest(shared.ref, { print: 'printed-line', steps: 1 })
    expect((await invokeAndWait(host.url, request)).status).toBe('completed')
    await gateway.until(() => gateway.eventsFor(request.operation_id).some((e) => e.type === 'completed'))
    // The fake gateway keeps every pushed event, log batches included.
    const events = gateway.eventsFor(request.operation_id) as Array<HostEvent | HostLogEvent>
    const lines = events.flatMap((e) => (e.type === 'log' ? e.lines : [])).map((l) => `${l.stream} ${l.message}`)
    expect(lines).toContain('logger Step 1/1')
    expect(lines.some((l) => l.includes('printed-line'))).toBe(false)
  })
})

describe('executor reuse', () => {
  it('calls after a burst go to the most recently used executor, not round the idle ones', async () => {
    const burst = await Promise.all(Array.from({ length: 3 }, () => invokeAndWait(host.url, dispatchRequest(alone.ref, { delay_ms: 200 }))))
    expect(new Set(burst.map(pidOf)).size).toBe(3)
    // Oldest idle first would go round all three; most recent first keeps one process warm.
    const after = []
    for (let i = 0; i < 3; i++) after.push(pidOf(await invokeAndWait(host.url, dispatchRequest(alone.ref, {}))))
    expect(new Set(after).size).toBe(1)
  })
})
