import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGateway, type GatewayServerConfig } from '../../runtime/gateway/index.ts'
import { createFakeRegistry, manifest } from '../../runtime/gateway/test/_fakes.ts'
import type { FunctionManifest } from '../../runtime/protocol/index.ts'
import { createKtrdrStorage } from '../../storage/index.ts'
import { createApi } from './api.ts'

export const DEFAULT_MANIFESTS: FunctionManifest[] = [
  manifest('echo'),
  manifest('gpu-job', { placement: { prefers: { gpu: true } } }),
  manifest('needs-gpu', { placement: { requires: { gpu: true } } }),
  manifest('bt-only', { placement: { worker_types: ['backtesting'] } }),
  manifest('backtest', { operation_type: 'backtesting', input_schema: { type: 'object' } }),
  manifest('train', {
    operation_type: 'training',
    input_schema: { type: 'object', properties: { timeframes: { type: 'array', items: { type: 'string' } } } },
    placement: { prefers: { gpu: true } },
  }),
  manifest('ib-fetch', { operation_type: 'data_load', input_schema: { type: 'object' } }),
  manifest('short', { timeout_seconds: 1 }),
  manifest('strict', {
    input_schema: {
      type: 'object',
      properties: { symbol: { type: 'string' }, bars: { type: 'integer', minimum: 1 } },
      required: ['symbol'],
      additionalProperties: false,
    },
  }),
]

/** A gateway on a free loopback port with a temp dir for its db and storage. */
export async function startTestGateway(
  config: GatewayServerConfig = {},
  dir = mkdtempSync(join(tmpdir(), 'ktrdr-gw-')),
  manifests: FunctionManifest[] = DEFAULT_MANIFESTS,
) {
  const storage = await createKtrdrStorage({ root: join(dir, 'store') })
  const gateway = await createGateway(
    {
      port: 0,
      quiet: true,
      dbPath: join(dir, 'gateway.db'),
      apiToken: null,
      clusterToken: null,
      health: { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 400, probeTimeoutMs: 300, intervalMs: 60_000, ...config.health },
      ...config,
    },
    { storage, functions: createFakeRegistry(manifests) },
  )
  return {
    gateway,
    dir,
    url: gateway.url,
    /** Requests to this gateway (test/kit/api.ts). */
    api: createApi(gateway.url),
    async close(keep = false) {
      await gateway.close()
      await storage.dispose()
      if (!keep) rmSync(dir, { recursive: true, force: true })
    },
  }
}
export type TestGateway = Awaited<ReturnType<typeof startTestGateway>>

/**
 * A gateway as `ktrdr gateway` runs it: the real function registry and the default health timings,
 * on a free loopback port, its db and storage (`store/`) in a temp dir. For tests that publish real
 * bundles and run real hosts or the CLI against it; `close(true)` keeps the dir for a restart on it.
 */
export async function startRealGateway(config: GatewayServerConfig = {}, dir = mkdtempSync(join(tmpdir(), 'ktrdr-real-gw-'))) {
  const store = join(dir, 'store')
  const gateway = await createGateway({
    port: 0,
    quiet: true,
    dbPath: join(dir, 'gw.db'),
    storage: { root: store },
    apiToken: null,
    clusterToken: null,
    ...config,
  })
  return {
    gateway,
    dir,
    /** The storage root: a host on this machine shares it as KTRDR_HOME. */
    store,
    url: gateway.url,
    api: createApi(gateway.url),
    async close(keep = false) {
      await gateway.close()
      if (!keep) rmSync(dir, { recursive: true, force: true })
    },
  }
}
export type RealGateway = Awaited<ReturnType<typeof startRealGateway>>
