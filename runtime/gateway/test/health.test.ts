// The health monitor's state machine in-process, on the test's clock (no timers started, nothing
// sleeps): the test runs each poll or heartbeat check itself and moves the clock between them.
import { describe, expect, it } from 'vitest'
import { useTestCores } from './_core.ts'

const { core, host } = useTestCores()

describe('health monitor', () => {
  it('AVAILABLE → TEMPORARILY_UNAVAILABLE at the configured failed polls (worker:lost once) → removed once unhealthy for removalMs', async () => {
    const c = await core({ health: { failures: 3, removalMs: 300_000, timeoutMs: 2000 } })
    const a = await host('a')
    const entry = c.register(a, 1)
    a.state.healthStatus = 500

    await c.health.poll()
    expect(entry.record).toMatchObject({ status: 'AVAILABLE', health_check_failures: 1 })
    await c.health.poll()
    expect(entry.record).toMatchObject({ status: 'AVAILABLE', health_check_failures: 2 })
    expect(c.log['worker:lost']).toBeUndefined()
    await c.health.poll()
    expect(entry.record).toMatchObject({ status: 'TEMPORARILY_UNAVAILABLE', health_check_failures: 3 })
    expect(entry.view.schedulable).toBe(false)
    expect(c.log['worker:lost']?.map(([w, reason]) => [w.worker_id, reason])).toEqual([
      ['a', '3 failed health checks: health answered HTTP 500'],
    ])
    await c.health.poll()
    expect(entry.record.health_check_failures).toBe(4)
    expect(c.log['worker:lost']).toHaveLength(1)

    // Removal counts from the moment it became unavailable (the third poll, at registration's
    // clock here), on the monitor's clock.
    c.clock.advance(300_000)
    await c.health.poll()
    expect(c.workers.get('a')).toBe(entry)
    c.clock.advance(1)
    await c.health.poll()
    expect(c.workers.get('a')).toBeUndefined()
    expect(c.log['worker:removed']?.map(([w]) => w.worker_id)).toEqual(['a'])
    expect(c.log['worker:lost']).toHaveLength(1)
  })

  it('removalMs counts from the moment the host became TEMPORARILY_UNAVAILABLE, not from its last healthy moment', async () => {
    // Counting from the last healthy moment removed a host (failures × interval) early: with the
    // guide's 3 × 10 s polls, "unavailable for more than 300 s" came ~280 s after it became so.
    const c = await core({ health: { failures: 3, removalMs: 300_000, intervalMs: 10_000 } })
    const a = await host('a')
    const entry = c.register(a, 1)
    const lastHealthy = entry.lastHealthyMs
    a.state.healthStatus = 500
    for (let i = 0; i < 3; i++) {
      c.clock.advance(10_000)
      await c.health.poll()
    }
    expect(entry.record.status).toBe('TEMPORARILY_UNAVAILABLE')
    const since = c.clock.now()
    expect(since - lastHealthy).toBe(30_000)
    expect(entry.unavailableSinceMs).toBe(since)

    // Past the threshold from the last healthy moment, within it from becoming unavailable: kept.
    c.clock.advance(300_001 - 30_000)
    await c.health.poll()
    expect(c.workers.get('a')).toBe(entry)
    c.clock.advance(30_000 - 1)
    expect(c.clock.now()).toBe(since + 300_000)
    await c.health.poll()
    expect(c.workers.get('a')).toBe(entry)
    c.clock.advance(1)
    await c.health.poll()
    expect(c.workers.get('a')).toBeUndefined()
    expect(c.log['worker:removed']?.map(([w]) => w.worker_id)).toEqual(['a'])
  })

  it('a healthy answer brings an unavailable host back, and the dispatcher hears of it (worker:status) and places what waited', async () => {
    const c = await core({ health: { failures: 2 } })
    const a = await host('a')
    const entry = c.register(a, 1)
    const transitions: string[] = []
    c.hooks.on('worker:status', (w, previous) => transitions.push(`${previous}→${w.status}`))
    a.state.healthStatus = 503
    await c.health.poll()
    await c.health.poll()
    expect(entry.record.status).toBe('TEMPORARILY_UNAVAILABLE')
    const id = await c.invoke('echo')
    expect(c.operations.phase(id)).toBe('queued')

    a.state.healthStatus = 200
    c.clock.advance(1000)
    await c.health.poll()
    expect(entry.record.health_check_failures).toBe(0)
    expect(entry.lastHealthyMs).toBe(c.clock.now())
    // Healthy again, and at once busy: the pump woken by worker:status placed the waiting operation.
    expect(transitions).toEqual(['AVAILABLE→TEMPORARILY_UNAVAILABLE', 'TEMPORARILY_UNAVAILABLE→AVAILABLE', 'AVAILABLE→BUSY'])
    expect(c.operations.dispatchOf(id)).toEqual({ workerId: 'a', attempt: 1 })
    await a.dispatches(1)
    expect(a.received[0].operation_id).toBe(id)
  })

  it('an overdue heartbeat triggers a probe; a refused probe loses the host at once and its running work is re-queued', async () => {
    const c = await core({ health: { heartbeatTimeoutMs: 2500, failures: 3 } })
    const a = await host('a')
    const entry = c.register(a, 1)
    const id = await c.invoke('echo')
    await c.settle(() => c.operations.getLive(id)?.op.status === 'running', 'running on a')

    // Not overdue yet: a watch probes nobody, so nothing can fail.
    await a.kill()
    c.clock.advance(2500)
    c.health.watch()
    expect(entry.lost).toBe(false)

    const lost = c.next('worker:lost')
    c.clock.advance(1)
    c.health.watch()
    const [record, reason] = await lost
    expect(record).toBe(entry.record)
    expect(reason).toMatch(/^no heartbeat for 2501 ms; health probe failed/)
    // One definitive failure is enough, whatever the threshold.
    expect(entry.record).toMatchObject({ status: 'TEMPORARILY_UNAVAILABLE', health_check_failures: 1 })
    expect(c.log['operation:requeued']?.map(([op]) => op.operation_id)).toEqual([id])
    expect(c.operations.phase(id)).toBe('queued')
  })

  it('a probe that times out counts as one failed check, not as a death', async () => {
    const c = await core({ health: { heartbeatTimeoutMs: 1000, probeTimeoutMs: 200, failures: 2 } })
    const a = await host('a')
    const entry = c.register(a, 1)
    a.state.healthStatus = 200
    // Hold every /health answer: the probe times out.
    a.state.healthHold = true
    c.clock.advance(1001)
    await c.health.probe(entry, 'test')
    expect(entry.record).toMatchObject({ status: 'AVAILABLE', health_check_failures: 1 })
    expect(entry.lost).toBe(false)
    await c.health.probe(entry, 'test')
    expect(entry.record).toMatchObject({ status: 'TEMPORARILY_UNAVAILABLE', health_check_failures: 2 })
    expect(c.log['worker:lost']?.map(([, reason]) => reason)).toEqual([
      expect.stringMatching(/^2 failed health checks: test; health probe failed: .*within 200 ms/),
    ])
  })
})
