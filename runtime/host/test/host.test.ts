import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { ofetch } from 'ofetch'
import { createHost, type KtrdrHost } from '../index.ts'
import { sha256Hex } from '../../protocol/index.ts'
import { tempStorage, type TempStorage } from '../../../test/kit/index.ts'
import { buildAndStore, dispatchRequest, FIXTURES, invokeAndWait, type Published } from './_setup.ts'
import { startFakeGateway } from './_fake-gateway.ts'

let env: TempStorage
let echo: Published
let host: KtrdrHost
let gateway: Awaited<ReturnType<typeof startFakeGateway>>

beforeAll(async () => {
  env = await tempStorage('ktrdr-host-test-')
  echo = await buildAndStore('echo', env.storage, join(env.root, 'build'))
  gateway = await startFakeGateway()
  host = await createHost({
    apiUrl: gateway.url,
    port: 0,
    workerType: 'backtesting',
    storage: { root: env.storageRoot },
    cacheDir: join(env.root, 'cache'),
    slots: 2,
    detectGpu: false,
    executorMemoryMb: 96,
    cancelGraceMs: 500,
    // Generous, so that a short call's result lands within it on a loaded machine (5 ms by default).
    startedHoldMs: 250,
    heartbeatIntervalMs: 200,
    register: { initialDelayMs: 50, maxDelayMs: 200 },
    forwardExecutorOutput: false,
    logLevel: 'warn',
  })
  await host.registered
})

afterAll(async () => {
  await host?.close({ timeoutMs: 1000 })
  await gateway?.close()
  await env?.cleanup()
})

async function expectHealthy() {
  const health = await ofetch(`${host.url}/health`)
  expect(health).toMatchObject({ healthy: true, status: 'operational', worker_id: host.workerId })
  return health
}

describe('function host', () => {
  it('registers with capabilities, endpoint and host info', async () => {
    const reg = gateway.state.registrations[0]!
    expect(reg.worker_id).toBe(host.workerId)
    expect(reg.worker_type).toBe('backtesting')
    expect(reg.endpoint_url).toBe(host.url)
    expect(reg.capabilities).toMatchObject({ gpu: false, slots: 2, ib: false, llm: false })
    expect(reg.capabilities.cores).toBeGreaterThan(0)
    expect(reg.host_info?.pid).toBe(process.pid)
    await gateway.until(() => gateway.state.heartbeats.length > 0)
  })

  it('runs echo from its bundle in a child process and pushes started → progress → completed in order', async () => {
    const request = dispatchRequest(echo.ref, { message: 'hi', steps: 3, delay_ms: 30 })
    const outcome = await invokeAndWait(host.url, request)
    expect(outcome.status).toBe('completed')
    expect(outcome.result).toMatchObject({ message: 'hi', operation_id: request.operation_id, worker_id: host.workerId })
    expect(outcome.result.pid).not.toBe(process.pid)
    await gateway.until(() => gateway.eventsFor(request.operation_id).some((e) => e.type === 'completed'))
    const events = gateway.eventsFor(request.operation_id)
    expect(events[0]!.type).toBe('started')
    expect(events.at(-1)!.type).toBe('completed')
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThan(0)
    const seqs = events.map((e) => e.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    const last = events.findLast((e) => e.type === 'progress')
    expect(last && 'progress' in last && last.progress.percentage).toBe(100)
  })

  it('a short call pushes started and completed in one batch; a longer one pushes started on its own first', async () => {
    // Warm first, so the short call is only the function's own work.
    await invokeAndWait(host.url, dispatchRequest(echo.ref, {}))
    const short = dispatchRequest(echo.ref, { message: 'quick' })
    expect((await invokeAndWait(host.url, short)).status).toBe('completed')
    await gateway.until(() => gateway.eventsFor(short.operation_id).some((e) => e.type === 'completed'))
    const batchOf = (id: string, type: string) =>
      gateway.state.batches.find((b) => b.some((e) => e.operation_id === id && e.type === type))!
    expect(
      batchOf(short.operation_id, 'completed')
        .filter((e) => e.operation_id === short.operation_id)
        .map((e) => e.type),
    ).toEqual(['started', 'completed'])
    // 800 ms of work, no progress before it: started may wait only startedHoldMs, then goes alone.
    const slow = dispatchRequest(echo.ref, { message: 'slow', steps: 1, delay_ms: 800 })
    expect((await invokeAndWait(host.url, slow)).status).toBe('completed')
    await gateway.until(() => gateway.eventsFor(slow.operation_id).some((e) => e.type === 'completed'))
    expect(batchOf(slow.operation_id, 'started')).not.toBe(batchOf(slow.operation_id, 'completed'))
    const events = gateway.eventsFor(slow.operation_id)
    expect(events[0]!.type).toBe('started')
    expect(Date.parse(events.find((e) => e.type === 'completed')!.at) - Date.parse(events[0]!.at)).toBeGreaterThanOrEqual(700)
  })

  it('reuses a warm executor for the same version (same child pid, bundle read once)', async () => {
    const a = await invokeAndWait(host.url, dispatchRequest(echo.ref, {}))
    const b = await invokeAndWait(host.url, dispatchRequest(echo.ref, {}))
    expect(a.result.pid).toBe(b.result.pid)
    expect(host.warmBundles()).toContain(echo.ref.sha256)
  })

  it('validates input against the function schema (failed, not retryable)', async () => {
    const outcome = await invokeAndWait(host.url, dispatchRequest(echo.ref, { steps: -1 }))
    expect(outcome.status).toBe('failed')
    expect(outcome.error).toMatchObject({ code: 'INPUT_INVALID', retryable: false })
    expect(outcome.error.message).toContain('steps')
  })

  it.each([
    ['throw', 'FUNCTION_ERROR', /asked to throw/],
    ['exit', 'FUNCTION_CRASHED', /exit code 3/],
    ['oom', 'FUNCTION_OUT_OF_MEMORY', /ran out of memory/],
  ])('a function that does %s fails its operation; the host stays AVAILABLE', async (fail, code, message) => {
    const outcome = await invokeAndWait(host.url, dispatchRequest(echo.ref, { fail }))
    expect(outcome.status).toBe('failed')
    if (code) expect(outcome.error.code).toBe(code)
    expect(outcome.error.message).toMatch(message)
    await expectHealthy()
    const after = await invokeAndWait(host.url, dispatchRequest(echo.ref, { message: 'still here' }))
    expect(after.status).toBe('completed')
  })

  it('a function that hangs past its deadline is stopped and fails with FUNCTION_TIMEOUT', async () => {
    const started = Date.now()
    const outcome = await invokeAndWait(host.url, dispatchRequest(echo.ref, { fail: 'hang' }, { deadline_ms: Date.now() + 300 }))
    expect(outcome.status).toBe('failed')
    expect(outcome.error.code).toBe('FUNCTION_TIMEOUT')
    expect(Date.now() - started).toBeLessThan(5000)
    await expectHealthy()
  })

  it("tells the function why it stops: its signal's reason is FUNCTION_TIMEOUT at the deadline, CANCELLED on cancel", async () => {
    // The host's deadline timer is the only one (the executor keeps none): its cancel says which.
    const fn = await buildAndStore(join(FIXTURES, 'watches-signal'), env.storage, join(env.root, 'build-signal'))
    const printed = (id: string) =>
      gateway
        .eventsFor(id)
        .flatMap((e) => (e.type === 'log' ? e.lines.map((l) => l.message) : []))
        .filter((m) => m.startsWith('stopped: '))
    const late = dispatchRequest(fn.ref, {}, { deadline_ms: Date.now() + 300 })
    const timedOut = await invokeAndWait(host.url, late)
    expect(timedOut.error.code).toBe('FUNCTION_TIMEOUT')
    await gateway.until(() => printed(late.operation_id).length > 0)
    expect(printed(late.operation_id)).toEqual(['stopped: FUNCTION_TIMEOUT'])

    const request = dispatchRequest(fn.ref, {})
    const done = invokeAndWait(host.url, request)
    await gateway.until(() => gateway.eventsFor(request.operation_id).some((e) => e.type === 'started'))
    await ofetch(`${host.url}/invocations/${request.operation_id}`, { method: 'DELETE' })
    expect((await done).status).toBe('cancelled')
    await gateway.until(() => printed(request.operation_id).length > 0)
    expect(printed(request.operation_id)).toEqual(['stopped: CANCELLED'])
  })

  it('sends the lines a function logged before a progress report ahead of that report', async () => {
    // echo logs "Step k/3" and then reports progress "Step k/3", 150 ms apart.
    const request = dispatchRequest(echo.ref, { steps: 3, delay_ms: 450 })
    expect((await invokeAndWait(host.url, request)).status).toBe('completed')
    await gateway.until(() => gateway.eventsFor(request.operation_id).some((e) => e.type === 'completed'))
    const events = gateway.eventsFor(request.operation_id)
    for (const step of ['Step 1/3', 'Step 2/3', 'Step 3/3']) {
      const logged = events.find((e) => e.type === 'log' && e.lines.some((l) => l.message === step))
      const reported = events.find((e) => e.type === 'progress' && e.progress.current_step === step)
      expect(logged, step).toBeDefined()
      expect(reported, step).toBeDefined()
      expect(logged!.seq, step).toBeLessThan(reported!.seq)
    }
  })

  /** Starts a long echo, waits for its first progress, cancels it over HTTP; ms = cancel → outcome. */
  async function startThenCancel(input: Record<string, unknown>) {
    const request = dispatchRequest(echo.ref, { delay_ms: 60_000, steps: 600, ...input })
    const done = invokeAndWait(host.url, request)
    await gateway.until(() => gateway.eventsFor(request.operation_id).some((e) => e.type === 'progress'))
    const pid = host.executors().find((e) => e.busy)!.pid
    const t0 = Date.now()
    await ofetch(`${host.url}/invocations/${request.operation_id}`, { method: 'DELETE' })
    const outcome = await done
    return { request, pid, outcome, ms: Date.now() - t0 }
  }

  it('cancel reaches the function as an AbortSignal within 1 s', async () => {
    const { request, pid, outcome, ms } = await startThenCancel({})
    expect(outcome.status).toBe('cancelled')
    expect(ms).toBeLessThan(1000)
    await gateway.until(() => gateway.eventsFor(request.operation_id).some((e) => e.type === 'cancelled'))
    // An interrupted child is never reused.
    await expect.poll(() => host.executors().some((e) => e.pid === pid), { timeout: 5000 }).toBe(false)
  })

  it('a function that ignores cancel is killed after the grace period', async () => {
    const { pid, outcome, ms } = await startThenCancel({ ignore_abort: true })
    expect(outcome.status).toBe('cancelled')
    expect(ms).toBeLessThan(3000)
    expect(() => process.kill(pid, 0)).toThrow()
    await expectHealthy()
  })

  it('answers 503 when every slot is taken, 404 when cancelling an unknown operation, 400 on a bad body', async () => {
    const long = [dispatchRequest(echo.ref, { delay_ms: 60_000, steps: 600 }), dispatchRequest(echo.ref, { delay_ms: 60_000, steps: 600 })]
    for (const r of long) await ofetch(`${host.url}/invocations`, { method: 'POST', body: r })
    const busy = await ofetch.raw(`${host.url}/invocations`, {
      method: 'POST',
      body: dispatchRequest(echo.ref, {}),
      ignoreResponseError: true,
    })
    expect(busy.status).toBe(503)
    expect((await ofetch(`${host.url}/health`)).worker_status).toBe('busy')
    for (const r of long) await ofetch(`${host.url}/invocations/${r.operation_id}`, { method: 'DELETE' })
    const unknown = await ofetch.raw(`${host.url}/invocations/op_nope`, { method: 'DELETE', ignoreResponseError: true })
    expect(unknown.status).toBe(404)
    const bad = await ofetch.raw(`${host.url}/invocations`, { method: 'POST', body: { operation_id: 'x' }, ignoreResponseError: true })
    expect(bad.status).toBe(400)
    await expect.poll(async () => (await ofetch(`${host.url}/health`)).free_slots, { timeout: 5000 }).toBe(2)
  })
})

describe('prefetch', () => {
  it('unpacks an announced version and pre-warms an executor for it; a newer version retires idle older executors', async () => {
    const bytes = (await import('../../protocol/index.ts')).packArchive(
      (await import('../../protocol/index.ts'))
        .unpackArchive(echo.archive)
        .concat([{ name: 'server/.variant', data: new TextEncoder().encode('prefetch-test') }]),
    )
    const ref = { ...echo.ref, version: 50, sha256: sha256Hex(bytes), bundle_key: `echo/${sha256Hex(bytes)}.tgz` }
    await env.storage.bundles.setItemRaw(ref.bundle_key, bytes)
    await invokeAndWait(host.url, dispatchRequest(echo.ref, {}))
    const older = host
      .executors()
      .filter((e) => e.sha256 === echo.ref.sha256 && !e.busy)
      .map((e) => e.pid)
    expect(older.length).toBeGreaterThan(0)
    const res = await ofetch.raw(`${host.url}/bundles/prefetch`, { method: 'POST', body: ref })
    expect(res.status).toBe(202)
    await expect.poll(() => host.executors().some((e) => e.sha256 === ref.sha256 && e.ready), { timeout: 10_000 }).toBe(true)
    expect(host.warmBundles()).toContain(ref.sha256)
    await expect.poll(() => host.executors().some((e) => older.includes(e.pid)), { timeout: 5000 }).toBe(false)
    const outcome = await invokeAndWait(host.url, dispatchRequest(ref, { message: 'prefetched' }))
    expect(outcome.status).toBe('completed')
  })
})

describe('bad bundles fail their operation and leave the host AVAILABLE', () => {
  it('sha256 mismatch', async () => {
    const outcome = await invokeAndWait(host.url, dispatchRequest({ ...echo.ref, sha256: sha256Hex('something else') }, {}))
    expect(outcome.status).toBe('failed')
    expect(outcome.error.code).toBe('BUNDLE_SHA_MISMATCH')
    await expectHealthy()
  })

  it('corrupt archive', async () => {
    const bytes = new TextEncoder().encode('this is not a tar.gz')
    const ref = { ...echo.ref, version: 90, sha256: sha256Hex(bytes), bundle_key: 'echo/corrupt.tgz' }
    await env.storage.bundles.setItemRaw(ref.bundle_key, bytes)
    const outcome = await invokeAndWait(host.url, dispatchRequest(ref, {}))
    expect(outcome.error.code).toBe('BUNDLE_CORRUPT')
    await expectHealthy()
  })

  it('invalid manifest', async () => {
    const { packArchive } = await import('../../protocol/index.ts')
    const bytes = packArchive([
      { name: 'manifest.json', data: new TextEncoder().encode('{"name":"echo"}') },
      { name: 'server/index.mjs', data: new TextEncoder().encode('') },
    ])
    const ref = { ...echo.ref, version: 91, sha256: sha256Hex(bytes), bundle_key: 'echo/bad-manifest.tgz' }
    await env.storage.bundles.setItemRaw(ref.bundle_key, bytes)
    const outcome = await invokeAndWait(host.url, dispatchRequest(ref, {}))
    expect(outcome.error.code).toBe('BUNDLE_MANIFEST_INVALID')
    await expectHealthy()
  })

  it('missing bundle', async () => {
    const outcome = await invokeAndWait(
      host.url,
      dispatchRequest({ ...echo.ref, version: 92, sha256: 'a'.repeat(64), bundle_key: 'echo/missing.tgz' }, {}),
    )
    expect(outcome.error.code).toBe('BUNDLE_NOT_FOUND')
  })

  it('a bundle that throws at import', async () => {
    const bad = await buildAndStore(join(FIXTURES, 'throws-at-import'), env.storage, join(env.root, 'build'))
    const outcome = await invokeAndWait(host.url, dispatchRequest(bad.ref, {}))
    expect(outcome.status).toBe('failed')
    expect(outcome.error.code).toBe('BUNDLE_IMPORT_FAILED')
    expect(outcome.error.message).toContain('exploded while loading')
    await expectHealthy()
    expect((await invokeAndWait(host.url, dispatchRequest(echo.ref, {}))).status).toBe('completed')
  })
})

describe('events survive an unreachable or forgetful gateway', () => {
  it('buffers events while the gateway is down and replays them in order when it is back', async () => {
    gateway.state.mode = 'down'
    const request = dispatchRequest(echo.ref, { steps: 3, delay_ms: 30 })
    expect((await invokeAndWait(host.url, request)).status).toBe('completed')
    expect(gateway.eventsFor(request.operation_id)).toEqual([])
    gateway.state.mode = 'ok'
    await gateway.until(() => gateway.eventsFor(request.operation_id).some((e) => e.type === 'completed'))
    const types = gateway.eventsFor(request.operation_id).map((e) => e.type)
    expect(types[0]).toBe('started')
    expect(types.at(-1)).toBe('completed')
    expect(types.filter((t) => t === 'progress').length).toBeGreaterThanOrEqual(1)
  })

  it('re-registers after a 404 and reports what finished meanwhile as completed_operations', async () => {
    gateway.state.mode = 'down'
    const request = dispatchRequest(echo.ref, { message: 'while you were out' })
    expect((await invokeAndWait(host.url, request)).status).toBe('completed')
    const before = gateway.state.registrations.length
    gateway.state.known.clear() // the gateway restarted and forgot every worker
    gateway.state.mode = 'ok'
    await gateway.until(() => gateway.state.registrations.length > before)
    const reg = gateway.state.registrations.at(-1)!
    const report = reg.completed_operations?.find((c) => c.operation_id === request.operation_id)
    expect(report).toMatchObject({ status: 'completed', attempt: 1 })
    expect((report!.result as { message: string }).message).toBe('while you were out')
    expect(reg.warm_bundles).toContain(echo.ref.sha256)
    await expectHealthy()
  })
})
