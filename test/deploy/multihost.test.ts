// A gateway and three function hosts as separate machines with their own addresses (network
// namespaces on 10.213.0.0/24, created and removed by this test), configured from env files that
// deploy/lxc/render-env.sh renders — the provisioning scripts' renderer — and checked with the
// deployment guide's own curl | jq verification commands against the gateway's address.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { until } from '../kit/index.ts'
import { LXC, REPO } from './_harness.ts'
import { SUBNET, TestNetwork, netnsUnavailableReason, readEnvFile } from './_netns.ts'

const runtimeMissing = ['gateway', 'host', 'fn'].filter((c) => !existsSync(join(REPO, 'runtime/cli/commands', `${c}.ts`)))
const skipReason =
  netnsUnavailableReason() ?? (runtimeMissing.length ? `runtime CLI commands not built yet: ${runtimeMissing.join(', ')}` : null)
if (skipReason) console.warn(`[multihost] SKIPPED: ${skipReason}`)

const GW = `${SUBNET}.10`
const API = `http://${GW}:8000`
const API_TOKEN = 'mh-api-token-0b7c'
const CLUSTER_TOKEN = 'mh-cluster-token-5e21'
const HOSTS: Array<{ name: string; octet: number; id: string; type: string; storageUrl?: string }> = [
  { name: 'h1', octet: 11, id: 'ktrdr-worker-bt-1', type: 'backtesting' },
  { name: 'h2', octet: 12, id: 'ktrdr-worker-bt-2', type: 'backtesting' },
  // No NFS on this one: every storage mount over HTTP from the gateway (KTRDR_STORAGE_URL), as
  // provision-worker.sh --storage-url renders it, so its bundles come through /api/v1/storage.
  { name: 'h3', octet: 13, id: 'ktrdr-worker-tr-1', type: 'training', storageUrl: `http://${SUBNET}.10:8000/api/v1/storage` },
]
// What every guide command needs from the client machine.
const CLIENT_ENV = { API, KTRDR_API_URL: API, KTRDR_API_TOKEN: API_TOKEN }
const AUTH = '-H "Authorization: Bearer $KTRDR_API_TOKEN"'

function render(kind: string, out: string, settings: Record<string, string>, drop: string[] = []) {
  execFileSync('bash', [
    join(LXC, 'render-env.sh'),
    '--kind',
    kind,
    '--out',
    out,
    ...Object.entries(settings).map(([k, v]) => `${k}=${v}`),
    ...drop.map((k) => `!${k}`),
  ])
  return readEnvFile(out)
}

describe.skipIf(!!skipReason)(`multi-host cluster in network namespaces${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let net: TestNetwork
  let dir: string
  const curl = async (script: string, timeoutMs = 30_000) => {
    const r = await net.sh('client', script, CLIENT_ENV, timeoutMs)
    if (r.code !== 0) throw new Error(`client command failed (${r.code}): ${script}\n${r.stderr}`)
    return r.stdout
  }
  const workers = async () =>
    JSON.parse(await curl(`curl -fsS ${AUTH} "$API/api/v1/workers"`)) as Array<{
      worker_id: string
      status: string
      metadata: { current_operation: string | null }
    }>
  const operation = async (id: string) => JSON.parse(await curl(`curl -fsS ${AUTH} "$API/api/v1/operations/${id}"`))
  const logTail = (name: string) => {
    try {
      return readFileSync(join(dir, `${name}.log`), 'utf8').slice(-3000)
    } catch {
      return ''
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ktrdr-multihost-'))
    net = new TestNetwork()
    try {
      net.addMachine('client', 2)
      net.addMachine('gw', 10)
      for (const h of HOSTS) net.addMachine(h.name, h.octet)

      // Shared storage the way NFS would give it: one tree every machine mounts at the same paths.
      const nfs = join(dir, 'nfs')
      const mounts = {
        DATA_DIR: 'data',
        MODELS_DIR: 'models',
        KTRDR_BUNDLES_DIR: 'bundles',
        KTRDR_RESULTS_DIR: 'results',
        KTRDR_STRATEGIES_DIR: 'strategies',
        KTRDR_CHECKPOINTS_DIR: 'checkpoints',
        KTRDR_MEMORY_DIR: 'memory',
      }
      const storage = Object.fromEntries(Object.entries(mounts).map(([k, m]) => [k, join(nfs, m)]))

      mkdirSync(join(dir, 'gw'), { recursive: true })
      const gwEnv = render('gateway', join(dir, 'gateway.env'), {
        KTRDR_GATEWAY_HOST: '0.0.0.0',
        KTRDR_GATEWAY_PORT: '8000',
        KTRDR_API_TOKEN: API_TOKEN,
        KTRDR_CLUSTER_TOKEN: CLUSTER_TOKEN,
        KTRDR_HOME: join(dir, 'gw'),
        KTRDR_GATEWAY_DB: join(dir, 'gw', 'gateway.db'),
        ...storage,
        // Shortened health numbers (seconds) so that "unavailable, then removed" fits in a test.
        // Not tighter: on a loaded 2-core CI machine a busy host must not look dead.
        KTRDR_WORKER_HEALTH_CHECK_INTERVAL: '1',
        KTRDR_WORKER_HEALTH_CHECK_TIMEOUT: '1',
        KTRDR_WORKER_HEALTH_CHECK_FAILURES: '3',
        KTRDR_WORKER_REMOVAL_THRESHOLD: '6',
        KTRDR_HEARTBEAT_INTERVAL: '1',
        LOG_LEVEL: 'info',
      })
      net.start('gw', ['node', join(REPO, 'bin/ktrdr.mjs'), 'gateway'], gwEnv, join(dir, 'gw.log'))
      await until(
        async () => (await net.sh('client', 'curl -fsS "$API/api/v1/health"', CLIENT_ENV, 3000)).code === 0,
        60_000,
        'the gateway answers on its address',
        300,
      ).catch((e) => {
        throw new Error(`${e.message}\n${logTail('gw')}`)
      })

      for (const h of HOSTS) {
        mkdirSync(join(dir, h.name), { recursive: true })
        const env = render(
          'host',
          join(dir, `${h.name}.env`),
          {
            KTRDR_API_URL: API,
            KTRDR_CLUSTER_TOKEN: CLUSTER_TOKEN,
            WORKER_ID: h.id,
            WORKER_TYPE: h.type,
            WORKER_PORT: '5003',
            WORKER_ENDPOINT_URL: `http://${SUBNET}.${h.octet}:5003`,
            WORKER_CORES: '1',
            WORKER_MEMORY_GB: '1',
            KTRDR_HOME: join(dir, h.name),
            LOG_LEVEL: 'info',
            ...(h.storageUrl ? { KTRDR_STORAGE_URL: h.storageUrl } : storage),
          },
          h.storageUrl ? Object.keys(storage) : [],
        )
        if (h.storageUrl) expect(Object.keys(env).filter((k) => k in storage)).toEqual([])
        net.start(h.name, ['node', join(REPO, 'bin/ktrdr.mjs'), 'host'], env, join(dir, `${h.name}.log`))
      }
      await until(async () => (await workers().catch(() => [])).length === 3, 60_000, 'all three hosts are registered', 300).catch((e) => {
        throw new Error(`${e.message}\n${HOSTS.map((h) => `--- ${h.name}\n${logTail(h.name)}`).join('\n')}`)
      })

      // A new function version goes out through the gateway: no host is touched or restarted.
      const deploy = await net.sh(
        'client',
        `node ${JSON.stringify(join(REPO, 'bin/ktrdr.mjs'))} fn deploy echo`,
        { ...CLIENT_ENV, KTRDR_HOME: join(dir, 'client') },
        120_000,
      )
      if (deploy.code !== 0) throw new Error(`ktrdr fn deploy echo failed:\n${deploy.stdout}\n${deploy.stderr}`)
    } catch (error) {
      await net.destroy()
      throw error
    }
  }, 240_000)

  afterAll(async () => {
    await net?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  }, 30_000)

  it('registration listing: every host AVAILABLE under its own address', async () => {
    await until(
      async () => (await workers()).every((w) => w.status === 'AVAILABLE'),
      15_000,
      'the cluster settles (every host AVAILABLE)',
      200,
    )
    const out = await curl(`curl -s ${AUTH} $API/api/v1/workers | jq -r '.[] | "\\(.worker_id): \\(.status)"'`)
    expect(out.trim().split('\n').sort()).toEqual(HOSTS.map((h) => `${h.id}: AVAILABLE`).sort())
    const endpoints = await curl(`curl -s ${AUTH} $API/api/v1/workers | jq -r '.[].endpoint_url'`)
    expect(endpoints.trim().split('\n').sort()).toEqual(HOSTS.map((h) => `http://${SUBNET}.${h.octet}:5003`).sort())
  })

  it('count by type (group_by worker_type)', async () => {
    const out = await curl(
      `curl -s ${AUTH} $API/api/v1/workers | jq -c 'group_by(.worker_type) | map({type: .[0].worker_type, count: length})'`,
    )
    expect(JSON.parse(out)).toEqual([
      { type: 'backtesting', count: 2 },
      { type: 'training', count: 1 },
    ])
  })

  it('workers/health summary and the gateway health check', async () => {
    expect(
      JSON.parse(
        await curl(`curl -s ${AUTH} $API/api/v1/workers/health | jq -c '{total_workers, available, busy, temporarily_unavailable}'`),
      ),
    ).toEqual({ total_workers: 3, available: 3, busy: 0, temporarily_unavailable: 0 })
    expect((await curl(`curl -s $API/api/v1/health | jq -r .healthy`)).trim()).toBe('true')
    // Without the API token the API refuses: the gateway listens on a real address.
    expect((await curl(`curl -s -o /dev/null -w '%{http_code}' $API/api/v1/workers`)).trim()).toBe('401')
  })

  it('a backtest-style invocation runs through its progress to completion', async () => {
    const OPERATION_ID = (
      await curl(
        `curl -s ${AUTH} -X POST $API/api/v1/functions/echo/invoke -H "Content-Type: application/json" -d '{"input":{"delay_ms":2400,"steps":6,"message":"bt"}}' | jq -r '.operation_id'`,
      )
    ).trim()
    expect(OPERATION_ID).toMatch(/^op_\w+_\d{8}_\d{6}_[0-9a-f]{8}$/)
    const seen = new Set<number>()
    const final = await until(
      async () => {
        const progress = JSON.parse(
          await curl(`curl -s ${AUTH} $API/api/v1/operations/${OPERATION_ID} | jq -c '{status, pct: .progress.percentage}'`),
        )
        if (typeof progress.pct === 'number') seen.add(progress.pct)
        return ['completed', 'failed', 'cancelled'].includes(progress.status) ? progress : undefined
      },
      30_000,
      'the operation completes',
      150,
    )
    expect(final.status).toBe('completed')
    expect([...seen].some((p) => p > 0 && p < 100)).toBe(true)
    const op = await operation(OPERATION_ID)
    expect(op.result.message).toBe('bt')
    expect(HOSTS.map((h) => h.id)).toContain(op.worker_id)
  })

  it('10 concurrent invocations spread over the hosts; all BUSY during, AVAILABLE after', async () => {
    const started = curl(`for i in $(seq 1 10); do
      curl -s ${AUTH} -X POST $API/api/v1/functions/echo/invoke -H "Content-Type: application/json" -d "{\\"input\\":{\\"delay_ms\\":1500,\\"steps\\":3,\\"message\\":\\"c$i\\"}}" | jq -r .operation_id &
    done; wait`)
    let allBusy = false
    const ids = await (async () => {
      const poll = until(
        async () => {
          const ws = await workers()
          return ws.length === 3 && ws.every((w) => w.status === 'BUSY' && w.metadata.current_operation)
        },
        10_000,
        'every host BUSY',
        100,
      ).then(
        () => (allBusy = true),
        () => {},
      )
      const out = await started
      await poll
      return out.trim().split('\n')
    })()
    expect(ids).toHaveLength(10)
    const ops = await until(
      async () => {
        const all = await Promise.all(ids.map(operation))
        return all.every((o) => ['completed', 'failed', 'cancelled'].includes(o.status)) ? all : undefined
      },
      60_000,
      'all 10 operations finish',
      300,
    )
    expect(ops.map((o) => o.status)).toEqual(new Array(10).fill('completed'))
    // …including the host without NFS, which fetched the bundle over HTTP from the gateway.
    expect(new Set(ops.map((o) => o.worker_id))).toEqual(new Set(HOSTS.map((h) => h.id)))
    for (const h of HOSTS.filter((x) => x.storageUrl))
      expect(existsSync(join(dir, h.name, 'bundles')), `${h.name} used a local bundles folder`).toBe(false)
    expect(allBusy).toBe(true)
    await until(async () => (await workers()).every((w) => w.status === 'AVAILABLE'), 10_000, 'every host is AVAILABLE again', 200)
  }, 120_000)

  it('a host whose link is cut goes TEMPORARILY_UNAVAILABLE, is removed, and its operation completes on another host', async () => {
    const OPERATION_ID = (
      await curl(
        `curl -s ${AUTH} -X POST $API/api/v1/functions/echo/invoke -H "Content-Type: application/json" -d '{"input":{"delay_ms":6000,"steps":6,"message":"survivor"},"max_attempts":3}' | jq -r .operation_id`,
      )
    ).trim()
    const holder = await until(
      async () => {
        const op = await operation(OPERATION_ID)
        return op.status === 'running' && op.worker_id ? (op.worker_id as string) : undefined
      },
      15_000,
      'the operation runs on a host',
      100,
    )
    const victim = HOSTS.find((h) => h.id === holder)!
    net.cut(victim.name)

    const statuses: string[] = []
    await until(
      async () => {
        const w = (await workers()).find((x) => x.worker_id === holder)
        if (w) statuses.push(w.status)
        return w?.status === 'TEMPORARILY_UNAVAILABLE'
      },
      20_000,
      `${holder} is TEMPORARILY_UNAVAILABLE`,
      200,
    )
    await until(async () => !(await workers()).some((x) => x.worker_id === holder), 30_000, `${holder} is removed from the registry`, 300)
    const op = await until(
      async () => {
        const o = await operation(OPERATION_ID)
        return ['completed', 'failed', 'cancelled'].includes(o.status) ? o : undefined
      },
      40_000,
      'the operation completes elsewhere',
      300,
    )
    expect(op.status).toBe('completed')
    expect(op.worker_id).not.toBe(holder)
    expect(op.attempts).toBeGreaterThanOrEqual(2)
    expect(op.result.message).toBe('survivor')
    const health = JSON.parse(await curl(`curl -s ${AUTH} $API/api/v1/workers/health`))
    expect(health.total_workers).toBe(2)
  }, 120_000)
})
