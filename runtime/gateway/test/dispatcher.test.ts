// The dispatcher in-process: real operations (in-memory SQLite), registry, health monitor and
// reconciler as _services.ts wires them; hosts on loopback whose answers the test scripts.
import { describe, expect, it } from 'vitest'
import { runningOn, useTestCores } from './_core.ts'

const { core, host } = useTestCores()

describe('dispatcher', () => {
  it('dispatches higher priority first, FIFO within a priority, one operation per free slot', async () => {
    const c = await core()
    const a = await c.invoke('echo')
    const b = await c.invoke('echo')
    const urgent1 = await c.invoke('echo', { priority: 5 })
    const d = await c.invoke('echo')
    const urgent2 = await c.invoke('echo', { priority: 5 })
    // No host yet: everything waits.
    expect(c.operations.counts()).toEqual({ queued: 5, dispatching: 0, running: 0, live: 5 })
    expect([...c.operations.nextPending()].map((s) => s.op.operation_id)).toEqual([urgent1, urgent2, a, b, d])

    const h = await host('solo')
    c.register(h, 1)
    for (let i = 1; i <= 5; i++) {
      await h.dispatches(i)
      const request = h.received[i - 1]
      const counts = c.operations.counts()
      // One slot: the rest stay queued while this one holds it.
      expect(counts.queued).toBe(5 - i)
      expect(counts.dispatching + counts.running).toBe(1)
      expect(h.received).toHaveLength(i)
      c.push(h, { type: 'completed', operation_id: request.operation_id, attempt: request.attempt, result: { i } })
    }
    expect(h.received.map((r) => r.operation_id)).toEqual([urgent1, urgent2, a, b, d])
    expect(h.received.map((r) => r.attempt)).toEqual([1, 1, 1, 1, 1])
    expect(c.operations.counts()).toEqual({ queued: 0, dispatching: 0, running: 0, live: 0 })
    expect((await c.op(d)).status).toBe('completed')
  })

  it('never places more than a host has free slots, across hosts', async () => {
    const c = await core()
    const ids = []
    for (let i = 0; i < 6; i++) ids.push(await c.invoke('echo'))
    const two = await host('two')
    const one = await host('one')
    two.state.holding = true
    one.state.holding = true
    c.register(two, 2)
    c.register(one, 1)
    await Promise.all([two.dispatches(2), one.dispatches(1)])
    // The pump placed synchronously: what it dispatched is all there is.
    expect(c.operations.counts()).toEqual({ queued: 3, dispatching: 3, running: 0, live: 6 })
    expect(c.workers.require('two').running.size).toBe(2)
    expect(c.workers.require('one').running.size).toBe(1)
    expect(c.workers.views.map((v) => [v.id, v.running])).toEqual([
      ['two', 2],
      ['one', 1],
    ])
    // The first three in FIFO order went out; the queue kept the others in order.
    expect(new Set([...two.received, ...one.received].map((r) => r.operation_id))).toEqual(new Set(ids.slice(0, 3)))
    expect([...c.operations.nextPending()].map((s) => s.op.operation_id)).toEqual(ids.slice(3))

    two.state.holding = false
    two.release()
    one.release()
    await c.settle(() => c.operations.counts().running === 3, 'three running')
    expect(c.workers.require('two').record.status).toBe('BUSY')
    expect(c.workers.require('two').record.metadata.free_slots).toBe(0)

    // One slot frees on `two`: exactly one more operation leaves the queue, the next in line.
    const first = two.received[0]
    c.push(two, { type: 'completed', operation_id: first.operation_id, attempt: 1, result: {} })
    await two.dispatches(3)
    expect(two.received[2].operation_id).toBe(ids[3])
    const counts = c.operations.counts()
    expect(counts.queued).toBe(2)
    expect(counts.running + counts.dispatching).toBe(3)
    expect(one.received).toHaveLength(1)
  })

  it('a host lost while the dispatch is in flight: its late 202 puts the operation back in the queue, and it runs elsewhere as the same attempt', async () => {
    const c = await core()
    const a = await host('a')
    a.state.holding = true
    c.register(a, 1)
    const id = await c.invoke('echo')
    await a.dispatches(1)
    expect(c.operations.phase(id)).toBe('dispatching')
    expect(c.operations.dispatchOf(id)).toEqual({ workerId: 'a', attempt: 1 })

    // What the health monitor does when it finds the host dead.
    c.workers.markLost(c.workers.require('a'), 'test: found dead')
    expect(c.workers.require('a').running.size).toBe(0)
    expect(c.workers.require('a').record.status).toBe('TEMPORARILY_UNAVAILABLE')
    // Nothing ran yet, nothing to re-queue: the dispatch decides when it returns.
    expect(c.operations.phase(id)).toBe('dispatching')
    expect(c.log['operation:requeued']).toBeUndefined()

    const b = await host('b')
    c.register(b, 1)
    expect(b.received).toHaveLength(0)
    a.release(202)
    await b.dispatches(1)
    expect(b.received[0]).toMatchObject({ operation_id: id, attempt: 1 })
    await c.settle(runningOn(c, id, 'b'), 'running on b')
    expect((await c.op(id)).attempts).toBe(1)
  })

  it('a host lost while running: re-queued as the next attempt within the budget, failed with HOST_LOST once it is spent', async () => {
    const c = await core()
    const a = await host('a')
    c.register(a, 1)
    const id = await c.invoke('echo', { max_attempts: 2 })
    await c.settle(runningOn(c, id, 'a'), 'running on a')

    c.workers.markLost(c.workers.require('a'), 'test: found dead')
    expect(c.log['worker:lost']?.map(([w, reason]) => [w.worker_id, reason])).toEqual([['a', 'test: found dead']])
    const requeued = await c.op(id)
    expect(requeued).toMatchObject({ status: 'pending', worker_id: null, attempts: 1, max_attempts: 2 })
    expect(requeued.metadata.last_requeue_reason).toMatch(/Host a was lost \(test: found dead\)/)
    expect(c.operations.phase(id)).toBe('queued')

    const b = await host('b')
    c.register(b, 1)
    await b.dispatches(1)
    expect(b.received[0]).toMatchObject({ operation_id: id, attempt: 2 })
    await c.settle(runningOn(c, id, 'b'), 'running on b')

    c.workers.markLost(c.workers.require('b'), 'test: found dead too')
    const failed = await c.op(id)
    expect(failed.status).toBe('failed')
    expect(failed.error?.code).toBe('HOST_LOST')
    expect(failed.error?.message).toMatch(/attempt 2\/2 was the last/)
    expect(c.operations.counts().live).toBe(0)
  })

  it('a dispatch that cannot reach its host: the health monitor probes it (worker:unreachable), the loss comes back as worker:lost', async () => {
    const c = await core()
    const a = await host('a')
    c.register(a, 1)
    await a.kill()
    const lost = c.next('worker:lost')
    const id = await c.invoke('echo')
    const [record, reason] = await lost
    expect(record.worker_id).toBe('a')
    expect(reason).toMatch(/dispatch could not reach it; health probe failed/)
    expect(c.log['worker:unreachable']?.map(([w]) => w.worker_id)).toEqual(['a'])
    expect(c.operations.phase(id)).toBe('queued')
    expect((await c.op(id)).attempts).toBe(0)

    const b = await host('b')
    c.register(b, 1)
    await b.dispatches(1)
    expect(b.received[0]).toMatchObject({ operation_id: id, attempt: 1 })
  })

  it('a host that rejects the request itself (4xx) fails the operation and frees the slot: another host cannot do better', async () => {
    const c = await core()
    const a = await host('a')
    a.state.dispatchStatus = 400
    c.register(a, 1)
    const id = await c.invoke('echo')
    await c.settle(() => c.operations.getLive(id) === null, 'the operation to finish')
    const failed = await c.op(id)
    expect(failed.status).toBe('failed')
    expect(failed.error?.code).toBe('DISPATCH_REJECTED')
    expect(c.workers.require('a').running.size).toBe(0)
    expect(c.workers.require('a').record.status).toBe('AVAILABLE')
  })
})

describe('deadlines', () => {
  it('fails a running operation its timeout plus the grace after placement, and tells its host to stop', async () => {
    const c = await core({ queue: { deadlineGraceMs: 5000 } })
    const a = await host('a')
    c.register(a, 1)
    const id = await c.invoke('short') // timeout_seconds: 1
    await c.settle(runningOn(c, id, 'a'), 'running on a')
    const placed = Date.parse((await c.op(id)).timings.placed_at!)
    expect(c.deadlines.sweep(placed + 1000 + 5000)).toEqual([])
    expect((await c.op(id)).status).toBe('running')
    expect(c.deadlines.sweep(placed + 1000 + 5001)).toEqual([id])
    const failed = await c.op(id)
    expect(failed.status).toBe('failed')
    expect(failed.error?.code).toBe('FUNCTION_TIMEOUT')
    await a.cancelled(id)
  })
})
