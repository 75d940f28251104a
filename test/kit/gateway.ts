import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGateway, type GatewayServerConfig, type GatewayServiceOverrides } from '../../runtime/gateway/index.ts'
import { createFakeRegistry, manifest } from '../../runtime/gateway/test/_fakes.ts'
import type { FunctionManifest } from '../../runtime/protocol/index.ts'
import { createKtrdrStorage, type KtrdrStorage } from '../../storage/index.ts'
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

/** A gateway on a free loopback port with its db and storage (`store/`) in `dir`; `close(true)` keeps the dir for a restart on it. */
async function startGatewayIn(dir: string, config: GatewayServerConfig, services?: GatewayServiceOverrides & { storage?: KtrdrStorage }) {
  const gateway = await createGateway(
    { port: 0, quiet: true, dbPath: join(dir, 'gateway.db'), apiToken: null, clusterToken: null, ...config },
    services,
  )
  return {
    gateway,
    dir,
    /** The storage root: a host on this machine shares it as KTRDR_HOME. */
    store: join(dir, 'store'),
    url: gateway.url,
    /** Requests to this gateway (test/kit/api.ts). */
    api: createApi(gateway.url),
    async close(keep = false) {
      await gateway.close()
      await services?.storage?.dispose()
      if (!keep) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A gateway with a fake function registry (`manifests`) and fast health timings, its db and storage in a temp dir. */
export async function startTestGateway(
  config: GatewayServerConfig = {},
  dir = mkdtempSync(join(tmpdir(), 'ktrdr-gw-')),
  manifests: FunctionManifest[] = DEFAULT_MANIFESTS,
) {
  const storage = await createKtrdrStorage({ root: join(dir, 'store') })
  const health = { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 400, probeTimeoutMs: 300, intervalMs: 60_000, ...config.health }
  return startGatewayIn(dir, { health, ...config }, { storage, functions: createFakeRegistry(manifests) })
}
export type TestGateway = Awaited<ReturnType<typeof startTestGateway>>

/**
 * A gateway as `ktrdr gateway` runs it: the real function registry and the default health timings,
 * its db and storage in a temp dir. For tests that publish real bundles and run real hosts or the
 * CLI against it.
 */
export const startRealGateway = (config: GatewayServerConfig = {}, dir = mkdtempSync(join(tmpdir(), 'ktrdr-real-gw-'))) =>
  startGatewayIn(dir, { storage: { root: join(dir, 'store') }, ...config })
export type RealGateway = Awaited<ReturnType<typeof startRealGateway>>

/**
 * Test gateways that close after each test: `const { gw, cleanup } = useTestGateways(afterEach)`.
 * `gw(config)` starts one (startTestGateway); `cleanup(fn)` adds anything else to undo, the last
 * added first. Vitest's `afterEach` is passed in, so that the kit loads no test runner (benches
 * import it too).
 */
export function useTestGateways(afterEach: (fn: () => Promise<void>) => void) {
  const cleanups: Array<() => unknown> = []
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!()
  })
  return {
    async gw(config: GatewayServerConfig = {}): Promise<TestGateway> {
      const g = await startTestGateway(config)
      cleanups.push(() => g.close())
      return g
    },
    cleanup(fn: () => unknown) {
      cleanups.push(fn)
    },
  }
}
