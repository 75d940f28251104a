// KTRDR_WORKER_REMOVAL_THRESHOLD counts from the moment a host became TEMPORARILY_UNAVAILABLE
// (it counted from its last healthy moment, so "unavailable for more than 300 s" came ~280 s in).
import { afterEach, describe, expect, it } from 'vitest'
import { startFakeHost, startTestGateway } from '../../../test/kit/index.ts'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

describe('health monitor', () => {
  it('removes a host removalMs after it became TEMPORARILY_UNAVAILABLE, not after its last healthy moment', async () => {
    // 3 failed polls 300 ms apart: unavailable ≈ 0.9 s after the last healthy moment.
    const removalMs = 1500
    const g = await startTestGateway({ health: { intervalMs: 300, timeoutMs: 200, failures: 3, removalMs, heartbeatTimeoutMs: 60_000 } })
    cleanups.push(() => g.close())
    const times: { unavailable?: number; removed?: number } = {}
    const removed = new Promise<void>((resolve) => {
      g.gateway.services.hooks.on('worker:status', (w) => {
        if (w.worker_id === 'sick' && w.status === 'TEMPORARILY_UNAVAILABLE') times.unavailable ??= Date.now()
      })
      g.gateway.services.hooks.on('worker:removed', (w) => {
        if (w.worker_id !== 'sick') return
        times.removed = Date.now()
        resolve()
      })
    })
    const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'sick', heartbeat: false })
    cleanups.push(() => h.close())
    const lastHealthy = Date.now()
    h.state.healthStatus = 500
    await removed
    expect(times.unavailable).toBeDefined()
    expect(times.unavailable! - lastHealthy).toBeGreaterThanOrEqual(600)
    // Never early; late by at most a poll interval, plus a generous margin for a loaded machine.
    expect(times.removed! - times.unavailable!).toBeGreaterThanOrEqual(removalMs)
    expect(times.removed! - times.unavailable!).toBeLessThan(removalMs + 10_000)
    expect((await g.api('/api/v1/workers/sick')).status).toBe(404)
  })
})
