// GET /metrics on the gateway, read with an independent Prometheus text parser: behind the API
// token unless KTRDR_METRICS_PUBLIC, and the numbers move with what the gateway does.
import WebSocket from 'crossws/websocket'
import { afterEach, describe, expect, it } from 'vitest'
import type { Operation } from '../../protocol/index.ts'
import { readMetrics, startFakeHost, until, useTestGateways, type TestGateway } from '../../../test/kit/index.ts'
import { resolveGatewayOptions } from '../_options.ts'

const { gw, cleanup } = useTestGateways(afterEach)

async function scrape(g: TestGateway, token?: string) {
  const res = await fetch(`${g.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return readMetrics(await res.text())
}

describe('gateway /metrics', () => {
  it('takes the API token, or none with KTRDR_METRICS_PUBLIC=1', async () => {
    expect(resolveGatewayOptions({}, { KTRDR_METRICS_PUBLIC: '1' }).metricsPublic).toBe(true)
    expect(resolveGatewayOptions({}, {}).metricsPublic).toBe(false)
    const closed = await gw({ apiToken: 'api-t', clusterToken: 'cluster-t' })
    expect((await fetch(`${closed.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${closed.url}/metrics`, { headers: { authorization: 'Bearer cluster-t' } })).status).toBe(401)
    await scrape(closed, 'api-t')
    const open = await gw({ apiToken: 'api-t', clusterToken: 'cluster-t', metricsPublic: true })
    await scrape(open)
  })

  it('counts operations by function and status, their durations and phases, the queue by priority and host slots', async () => {
    const g = await gw()
    const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'h', capabilities: { slots: 2 } })
    cleanup(() => h.close())
    const before = await scrape(g)
    expect(before.value('ktrdr_operations_finished_total', { function: 'echo' })).toBe(0)
    expect(before.value('ktrdr_host_slots', { worker_id: 'h', state: 'free' })).toBe(2)

    const done = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 50, steps: 1 }, wait_seconds: 10 } })
    expect(done.body.status).toBe('completed')
    const other = await g.api<Operation>('/api/v1/functions/strict/invoke', { body: { input: { symbol: 'X' }, wait_seconds: 10 } })
    expect(other.body.status).toBe('completed')
    const running = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } } })).body
    await until(async () => (await g.api<Operation>(`/api/v1/operations/${running.operation_id}`)).body.status === 'running')
    // No host runs bt-only: these wait in the queue at their priority.
    await g.api('/api/v1/functions/bt-only/invoke', { body: { input: {}, priority: 5 } })
    await g.api('/api/v1/functions/bt-only/invoke', { body: { input: {}, priority: 5 } })
    await g.api('/api/v1/functions/bt-only/invoke', { body: { input: {} } })

    const after = await scrape(g)
    expect(after.value('ktrdr_operations_created_total', { function: 'echo' })).toBe(2)
    expect(after.value('ktrdr_operations_finished_total', { function: 'echo', status: 'completed' })).toBe(1)
    expect(after.value('ktrdr_operations_finished_total', { function: 'strict', status: 'completed' })).toBe(1)
    expect(after.histogramCount('ktrdr_operation_duration_seconds', { function: 'echo', status: 'completed' })).toBe(1)
    expect(after.histogramCount('ktrdr_operation_phase_seconds', { function: 'echo', phase: 'queued' })).toBe(1)
    expect(after.histogramCount('ktrdr_operation_phase_seconds', { function: 'echo', phase: 'run' })).toBe(1)
    expect(after.value('ktrdr_operations', { function: 'echo', status: 'running' })).toBe(1)
    expect(after.value('ktrdr_operations', { function: 'bt-only', status: 'pending' })).toBe(3)
    expect(after.value('ktrdr_queue_depth', { priority: '5' })).toBe(2)
    expect(after.value('ktrdr_queue_depth')).toBe(3)
    expect(after.value('ktrdr_host_slots', { worker_id: 'h', state: 'used' })).toBe(1)
    expect(after.value('ktrdr_host_slots', { worker_id: 'h', state: 'free' })).toBe(1)
    expect(after.value('ktrdr_hosts', { status: 'BUSY' })).toBe(1)
    // Process metrics come along, under the gateway's prefix.
    expect(after.value('ktrdr_gateway_process_resident_memory_bytes')).toBeGreaterThan(0)
  })

  it('counts the open client channels', async () => {
    const g = await gw()
    expect((await scrape(g)).value('ktrdr_channels', { kind: 'client' })).toBe(0)
    const ws = new WebSocket(`${g.url.replace('http', 'ws')}/api/v1/channel`)
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve)
      ws.addEventListener('error', reject)
    })
    const open = await scrape(g)
    expect(open.value('ktrdr_channels', { kind: 'client' })).toBe(1)
    expect(open.value('ktrdr_channels', { kind: 'host' })).toBe(0)
    ws.close()
    await until(async () => (await scrape(g)).value('ktrdr_channels', { kind: 'client' }) === 0, 5000, 'the channel counted closed')
  })

  it('counts missed heartbeats and lost hosts', async () => {
    const g = await gw()
    const quiet = await startFakeHost({ gatewayUrl: g.url, workerId: 'quiet', heartbeat: false })
    cleanup(() => quiet.close())
    await until(
      async () => (await scrape(g)).value('ktrdr_heartbeats_missed_total', { worker_id: 'quiet' }) >= 1,
      10_000,
      'a missed heartbeat',
    )
    quiet.kill()
    await until(async () => (await scrape(g)).value('ktrdr_hosts_lost_total', { worker_id: 'quiet' }) === 1, 10_000, 'the host lost')
  })
})
