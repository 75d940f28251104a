// The reconciler in-process: whose reports count, what a (re-)registration replays, re-attaches,
// stops and re-queues, and how a heartbeat settles disagreements. Hosts on loopback, scripted.
import { describe, expect, it } from 'vitest'
import { runningOn, useTestCores } from './_core.ts'

const { core, host } = useTestCores()

describe('reconciler', () => {
  it('a host reporting an operation placed elsewhere: its events are acknowledged but not applied, and it is told to stop', async () => {
    const c = await core()
    const a = await host('a')
    const b = await host('b')
    c.register(a, 1)
    const id = await c.invoke('echo')
    await c.settle(runningOn(c, id, 'a'), 'running on a')
    const bEntry = c.register(b, 1)

    const acked = c.push(b, { type: 'completed', operation_id: id, attempt: 1, result: { forged: true } })
    expect(acked).toBeGreaterThan(0)
    expect(await c.op(id)).toMatchObject({ status: 'running', worker_id: 'a', result: null })

    const heartbeat = { running_operations: [{ operation_id: id, attempt: 1 }], free_slots: 0 }
    expect(c.reconciler.heartbeat(bEntry, heartbeat)).toEqual([id])
    expect(bEntry.running.size).toBe(0)
    const again = c.reconciler.register(b.registration(1, { running_operations: [{ operation_id: id, attempt: 1 }] }), b.secret)
    expect(again.stop_operations).toEqual([id])
    expect(c.workers.require('b').running.size).toBe(0)
    expect(await c.op(id)).toMatchObject({ status: 'running', worker_id: 'a' })

    // The host it is placed on: its report counts, and its slot frees.
    c.push(a, { type: 'completed', operation_id: id, attempt: 1, result: { ok: true } })
    expect(await c.op(id)).toMatchObject({ status: 'completed', worker_id: 'a', result: { ok: true } })
    expect(c.workers.require('a').record.status).toBe('AVAILABLE')
  })

  it('an event that arrives before the 202 proves the host accepted the dispatch', async () => {
    const c = await core()
    const a = await host('a')
    a.state.holding = true
    c.register(a, 1)
    const id = await c.invoke('echo')
    await a.dispatches(1)
    expect(c.operations.phase(id)).toBe('dispatching')
    c.push(a, { type: 'started', operation_id: id, attempt: 1 })
    expect(c.operations.phase(id)).toBe('running')
    expect(await c.op(id)).toMatchObject({ status: 'running', worker_id: 'a', attempts: 1 })
    expect(c.operations.counts()).toEqual({ queued: 0, dispatching: 0, running: 1, live: 1 })
  })

  it('a re-registration replays what finished, re-attaches what still runs, stops what was settled and re-queues what the host forgot', async () => {
    const c = await core()
    const a = await host('a')
    c.register(a, 4)
    const [done, still, forgotten, cancelled] = [
      await c.invoke('echo'),
      await c.invoke('echo'),
      await c.invoke('echo'),
      await c.invoke('echo'),
    ]
    await c.settle(() => c.operations.counts().running === 4, 'four running on a')
    c.operations.cancel(c.operations.getLive(cancelled)!, 'test')
    // Cancelled, but the host still runs it until it hears: the slot stays taken.
    expect(c.workers.require('a').running.size).toBe(4)

    const response = c.reconciler.register(
      a.registration(4, {
        completed_operations: [
          { operation_id: done, attempt: 1, status: 'completed', result: { replayed: true }, completed_at: new Date().toISOString() },
        ],
        running_operations: [
          { operation_id: still, attempt: 1 },
          { operation_id: cancelled, attempt: 1 },
        ],
      }),
      a.secret,
    )
    // Before the next pump (a microtask away) takes the re-queued one out again:
    const slots = [...c.workers.require('a').running]
    const forgottenPhase = c.operations.phase(forgotten)
    expect(response.stop_operations).toEqual([cancelled])
    expect(slots).toEqual([[still, 1]])
    expect(forgottenPhase).toBe('queued')
    expect(await c.op(done)).toMatchObject({ status: 'completed', result: { replayed: true } })
    expect(await c.op(still)).toMatchObject({ status: 'running', worker_id: 'a', attempts: 1 })
    const requeued = await c.op(forgotten)
    expect(requeued.attempts).toBe(1)
    expect(requeued.metadata.last_requeue_reason).toBe('Host a restarted and no longer runs attempt 1')
    // And the re-queued one goes out again as its second attempt.
    await a.dispatches(5)
    expect(a.received[4]).toMatchObject({ operation_id: forgotten, attempt: 2 })
  })

  it('a host wrongly thought lost takes its running operation back on its next heartbeat', async () => {
    const c = await core()
    const a = await host('a')
    const entry = c.register(a, 1)
    const id = await c.invoke('echo')
    await c.settle(runningOn(c, id, 'a'), 'running on a')
    c.workers.markLost(entry, 'test: missed its heartbeats')
    const requeued = await c.op(id)
    expect(requeued).toMatchObject({ status: 'pending', worker_id: null, attempts: 1 })
    expect(requeued.metadata.last_worker_id).toBe('a')

    const cancel = c.reconciler.heartbeat(entry, { running_operations: [{ operation_id: id, attempt: 1 }], free_slots: 0 })
    expect(cancel).toEqual([])
    expect(await c.op(id)).toMatchObject({ status: 'running', worker_id: 'a', attempts: 1 })
    expect(c.operations.phase(id)).toBe('running')
    expect([...entry.running]).toEqual([[id, 1]])
    expect(entry.record.status).toBe('BUSY')
  })

  it('the outcome of an attempt still counts from the host it ran on after the gateway let go of it, but from nobody else', async () => {
    const c = await core()
    const a = await host('a')
    const b = await host('b')
    const entry = c.register(a, 1)
    const id = await c.invoke('echo')
    await c.settle(runningOn(c, id, 'a'), 'running on a')
    c.workers.markLost(entry, 'test: missed its heartbeats')
    expect(c.operations.phase(id)).toBe('queued')
    c.register(b, 1)
    b.state.holding = true
    await b.dispatches(1)
    c.push(b, { type: 'completed', operation_id: id, attempt: 1, result: { from: 'b' } })
    expect((await c.op(id)).status).toBe('pending')
    c.push(a, { type: 'completed', operation_id: id, attempt: 1, result: { from: 'a' } })
    expect(await c.op(id)).toMatchObject({ status: 'completed', result: { from: 'a' }, attempts: 1 })
  })
})
