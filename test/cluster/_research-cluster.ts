// A real local research cluster for the dashboard and report tests: the gateway with the research
// API and the dashboard, two real hosts, the real train/backtest/echo bundles, a synthetic market,
// one training and two backtests on a later window. `root` may hold a previous run (the dev loop):
// what is already there (published functions, finished operations) is reused.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Operation } from '../../runtime/protocol/index.ts'
import { createGateway, type Gateway } from '../../runtime/gateway/index.ts'
import { createHost, type KtrdrHost } from '../../runtime/host/index.ts'
import { buildFunctionBundle } from '../../runtime/bundler/index.ts'
import { generateSyntheticSeries, saveBars, SYNTHETIC_GENERATOR } from '../../trading/index.ts'
import { dashboardRoutes, researchRoutes, seedExampleStrategies } from '../../research/index.ts'
import { FUNCTION_FIXTURES } from '../kit/index.ts'

export const API_TOKEN = 'dashboard-test-token'
const CLUSTER_TOKEN = 'dashboard-cluster-token'
const H = 3_600_000

export interface ResearchCluster {
  gateway: Gateway
  hosts: KtrdrHost[]
  url: string
  train: Operation
  backtests: [Operation, Operation]
  api<T = any>(path: string, init?: { method?: string; body?: unknown }): Promise<T>
  close(): Promise<void>
}

export async function startResearchCluster(root: string, { port = 0 }: { port?: number } = {}): Promise<ResearchCluster> {
  const storage = { root: join(root, 'store') }
  const gateway = await createGateway({
    port,
    quiet: true,
    dbPath: join(root, 'gateway.db'),
    storage,
    apiToken: API_TOKEN,
    clusterToken: CLUSTER_TOKEN,
    routes: [...researchRoutes, ...dashboardRoutes],
  })
  const hosts: KtrdrHost[] = []
  const close = async () => {
    await Promise.all(hosts.map((h) => h.close({ timeoutMs: 2000 }).catch(() => {})))
    await gateway.close()
  }
  const api = async <T = any>(path: string, init: { method?: string; body?: unknown; raw?: Uint8Array } = {}): Promise<T> => {
    const res = await fetch(`${gateway.url}${path}`, {
      method: init.method ?? (init.body !== undefined || init.raw ? 'POST' : 'GET'),
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': init.raw ? 'application/gzip' : 'application/json' },
      body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path} → ${res.status}: ${text}`)
    return (text ? JSON.parse(text) : null) as T
  }
  /** Invokes and waits for the end (pushed by the gateway's hooks, not polled). */
  const invoke = async (fn: string, input: Record<string, unknown>) => {
    const started = await api<Operation>(`/api/v1/functions/${fn}/invoke`, { body: { input } })
    const op = await gateway.services.operations.waitFinished(started.operation_id, 600_000)
    if (op.status !== 'completed') throw new Error(`${fn} ${op.operation_id} ${op.status}: ${JSON.stringify(op.error)}`)
    return op
  }
  try {
    for (const [i, slots] of [2, 1].entries()) {
      hosts.push(
        await createHost({
          apiUrl: gateway.url,
          workerId: `research-host-${i + 1}`,
          workerType: 'general',
          port: 0,
          slots,
          storage,
          cacheDir: join(root, `host-${i + 1}`),
          clusterToken: CLUSTER_TOKEN,
          labels: i === 0 ? ['fast-disk'] : [],
          logLevel: 'warn',
          detectGpu: false,
          gpu: false,
        }),
      )
    }
    await Promise.all(hosts.map((h) => h.registered))

    // echo twice (echo-v2 is other code under the same name) for a canary alias on the functions page.
    const wanted: Array<[name: string, dir: string, versions: number]> = [
      ['echo', 'echo', 1],
      ['echo', join(FUNCTION_FIXTURES, 'echo-v2'), 2],
      ['train', 'train', 1],
      ['backtest', 'backtest', 1],
    ]
    for (const [name, dir, versions] of wanted) {
      const existing = await gateway.services.functions.getFunction(name)
      if ((existing?.versions.length ?? 0) >= versions) continue
      const built = await buildFunctionBundle(dir, { outDir: join(root, 'build', name), sourceCommit: null })
      await api(`/api/v1/functions/${name}/versions`, { raw: new Uint8Array(await readFile(built.archivePath)) })
    }
    await api('/api/v1/functions/echo/aliases/canary', {
      method: 'PUT',
      body: {
        routes: [
          { version: 1, weight: 90 },
          { version: 2, weight: 10 },
        ],
      },
    })

    const ops = (await api<{ data: Operation[] }>('/api/v1/operations?status=completed&limit=100')).data
    let train = ops.find((o) => o.function.name === 'train')
    let backtests = ops.filter((o) => o.function.name === 'backtest')
    const series = generateSyntheticSeries({
      symbol: 'EURUSD',
      timeframe: '1h',
      preset: 'forex',
      seed: 7,
      bars: 3000,
      start: '2020-01-01',
      structure: 'trend_regimes',
    })
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
    const split = series.time[Math.floor(series.length * 0.7)]
    if (!train || backtests.length < 2) {
      const stores = gateway.services.storage
      if (!existsSync(join(root, 'store', 'data', 'EURUSD_1h.csv')))
        await saveBars(stores.data, series, {
          meta: { synthetic: true, generator: SYNTHETIC_GENERATOR, seed: 7, preset: 'forex', structure: 'trend_regimes' },
        })
      await seedExampleStrategies(stores.strategies)
      train = await invoke('train', {
        strategy_name: 'regime_momentum',
        symbols: ['EURUSD'],
        timeframes: ['1h'],
        start_date: day(series.time[0]),
        end_date: day(split - 24 * H),
        epochs: 2,
        seed: 7,
      })
      const modelPath = (train.result as { model_path: string }).model_path
      const run = (extra: Record<string, unknown>) =>
        invoke('backtest', {
          model_path: modelPath,
          symbol: 'EURUSD',
          timeframe: '1h',
          start_date: day(split),
          end_date: day(series.time[series.length - 1]),
          require_out_of_sample: true,
          ...extra,
        })
      // The second is a two-set sweep (a run picker on its page), priced higher.
      backtests = [
        await run({}),
        await run({ commission: 0.002, parameter_sets: [{ name: 'base' }, { name: 'cautious', confidence_threshold: 0.6 }] }),
      ]
    }
    return { gateway, hosts, url: gateway.url, train, backtests: [backtests[0], backtests[1]], api, close }
  } catch (error) {
    await close()
    throw error
  }
}
