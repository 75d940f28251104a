// The guide's IB host as a function host: ib-fetch placed only on the host that advertises `ib`,
// invoked through the guide's POST /api/v1/data/acquire/download, talking the real TWS wire
// protocol (to the simulator, on loopback) and filling the data store the gateway serves.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation } from '../../runtime/protocol/index.ts'
import { createGateway, type Gateway } from '../../runtime/gateway/index.ts'
import { createHost, type KtrdrHost } from '../../runtime/host/index.ts'
import { researchRoutes } from '../../research/index.ts'
import { systemClock } from '../../functions/ib-fetch/src/clock.ts'
import { createTwsSimulator, type TwsSimulator } from '../../functions/ib-fetch/test/tws-sim/server.ts'
import { api, deployFunction, until } from '../kit/index.ts'

const DAY = 86_400_000
let root: string
let gateway: Gateway
let sim: TwsSimulator
const hosts: KtrdrHost[] = []
const saved: Record<string, string | undefined> = {}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktrdr-ib-host-'))
  sim = await createTwsSimulator({ clock: systemClock, series: { EUR: { seed: 5, head: Date.now() - 400 * DAY, type: 'CASH' } } })
  // Executors inherit the host's environment: this is how an IB host is configured (deploy/env/ib-host.env.example).
  const env = { IB_HOST: '127.0.0.1', IB_PORT: String(sim.port), IB_CLIENT_ID: '141-145', KTRDR_IB_PACING_DIR: root }
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k]
    process.env[k] = v
  }

  const storage = { root: join(root, 'store') }
  gateway = await createGateway({
    port: 0,
    quiet: true,
    dbPath: join(root, 'gateway.db'),
    storage,
    apiToken: null,
    clusterToken: null,
    routes: researchRoutes,
  })
  await deployFunction('ib-fetch', { gateway: gateway.url, outDir: join(root, 'build'), sourceCommit: null })
  for (const spec of [
    { workerId: 'ktrdr-worker-bt-1', ib: false },
    { workerId: 'ib-host-1', ib: true },
  ]) {
    hosts.push(
      await createHost({
        ...spec,
        workerType: 'general',
        apiUrl: gateway.url,
        port: 0,
        storage,
        detectGpu: false,
        logLevel: 'warn',
        clusterToken: null,
      }),
    )
  }
  await Promise.all(hosts.map((h) => h.registered))
}, 180_000)

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close({ timeoutMs: 2000 }).catch(() => {})))
  await gateway?.close()
  await sim?.close()
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  await rm(root, { recursive: true, force: true })
})

const finished = (id: string) =>
  until(
    async () => {
      const op = (await api<Operation>(gateway.url, `/api/v1/operations/${id}`)).body
      return op.status === 'completed' || op.status === 'failed' || op.status === 'cancelled' ? op : null
    },
    90_000,
    `operation ${id} to finish`,
  )

describe('ib-fetch on the IB host', () => {
  it('downloads through /data/acquire/download on the ib host only, and the data routes serve the bars', async () => {
    const res = await api<Operation & { success: boolean }>(gateway.url, '/api/v1/data/acquire/download', {
      body: { symbol: 'EUR.USD', timeframe: '1h', mode: 'tail' },
    })
    expect(res.status).toBe(202)
    expect(res.body.success).toBe(true)
    const op = await finished(res.body.operation_id)
    expect(op.error).toBeNull()
    expect(op.status).toBe('completed')
    expect(op.worker_id).toBe('ib-host-1')
    expect(op.operation_type).toBe('data_load')
    const result = op.result as { symbol: string; rows_downloaded: number; segments: number; segments_failed: number }
    expect(result.symbol).toBe('EURUSD')
    expect(result.segments_failed).toBe(0)
    expect(result.rows_downloaded).toBeGreaterThan(100)
    expect(sim.requests.length).toBe(result.segments)
    expect(sim.requests.every((r) => r.symbol === 'EUR')).toBe(true)

    const listed = (
      await api<{ data: Array<{ symbol: string; timeframe: string; bars: number; synthetic: boolean }> }>(gateway.url, '/api/v1/data')
    ).body.data
    expect(listed).toContainEqual(
      expect.objectContaining({ symbol: 'EURUSD', timeframe: '1h', bars: result.rows_downloaded, synthetic: false }),
    )
    const bars = (await api<{ data: { dates: string[]; ohlcv: number[][] } }>(gateway.url, '/api/v1/data/EURUSD/1h?limit=3')).body.data
    expect(bars.dates).toHaveLength(3)
    for (const [o, h, _l, c] of bars.ohlcv) expect(h).toBeGreaterThanOrEqual(Math.max(o, c))
    for (const [o, , l, c] of bars.ohlcv) expect(l).toBeLessThanOrEqual(Math.min(o, c))
  })

  it('a second tail run asks IB only for what is missing and keeps what is stored', async () => {
    const before = (
      await api<{ data: Array<{ symbol: string; bars: number; start: string }> }>(gateway.url, '/api/v1/data')
    ).body.data.find((d) => d.symbol === 'EURUSD')!
    const requestsBefore = sim.requests.length
    const res = await api<Operation>(gateway.url, '/api/v1/functions/ib-fetch/invoke', {
      body: { input: { symbol: 'EURUSD', timeframe: '1h' } },
    })
    const op = await finished(res.body.operation_id)
    expect(op.status).toBe('completed')
    expect(op.worker_id).toBe('ib-host-1')
    const after = (await api<{ data: Array<{ symbol: string; bars: number; start: string }> }>(gateway.url, '/api/v1/data')).body.data.find(
      (d) => d.symbol === 'EURUSD',
    )!
    expect(after.start).toBe(before.start)
    expect(after.bars).toBe(before.bars + (op.result as { rows_downloaded: number }).rows_downloaded)
    expect(sim.requests.length - requestsBefore).toBeLessThanOrEqual(1)
  })
})
