// `ktrdr host` configured only by the deployment guide's environment variables.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startKtrdr, startRealGateway, type KtrdrRun, type RealGateway } from '../../../test/kit/index.ts'
import { createGateway } from '../../gateway/index.ts'

let g: RealGateway

beforeAll(async () => {
  g = await startRealGateway()
})
afterAll(async () => {
  await g?.close()
})

describe('ktrdr host', () => {
  it('registers from the guide env, logs as the guide shows, and drains on SIGTERM', async () => {
    const host = startHost({
      KTRDR_API_URL: g.url,
      WORKER_ID: 'ktrdr-worker-bt-1',
      WORKER_TYPE: 'backtesting',
      WORKER_CORES: '4',
      WORKER_MEMORY_GB: '8',
      LOG_LEVEL: 'INFO',
    })
    try {
      const output = await host.waitFor(/Worker endpoint: http/, 30_000)
      expect(output).toContain('✅ Worker registered successfully with backend')
      expect(output).toContain('Worker ID: ktrdr-worker-bt-1')
      const workers = (await (await fetch(`${g.url}/api/v1/workers`)).json()) as Array<{
        worker_id: string
        worker_type: string
        status: string
        capabilities: Record<string, unknown>
      }>
      expect(workers).toEqual([
        expect.objectContaining({ worker_id: 'ktrdr-worker-bt-1', worker_type: 'backtesting', status: 'AVAILABLE' }),
      ])
      expect(workers[0]!.capabilities).toMatchObject({ cores: 4, memory_gb: 8, gpu: false, slots: 1 })
    } finally {
      host.child.kill('SIGTERM')
    }
    expect(await host.exited).toBe(0)
    // Stopped gracefully, it deregistered: not left TEMPORARILY_UNAVAILABLE until the removal threshold.
    expect(host.output()).toContain('Worker ktrdr-worker-bt-1 deregistered from')
    expect(await (await fetch(`${g.url}/api/v1/workers`)).json()).toEqual([])
  })
})

const printed = (r: KtrdrRun) => r.stdout + r.stderr

/** `ktrdr host` with the guide's env on top of a quiet default; its output and exit. */
function startHost(env: Record<string, string>, args: string[] = []) {
  const host = startKtrdr(['host', ...args], {
    env: { WORKER_PORT: '0', KTRDR_HOME: g.store, KTRDR_HOST_DETECT_GPU: '0', KTRDR_CLUSTER_TOKEN: '', ...env },
  })
  return { ...host, exited: host.done.then((r) => r.code), output: () => printed(host.output()) }
}

describe('ktrdr host: what the journal says', () => {
  it('a gateway it cannot reach: the cause (connection refused, DNS), not "fetch failed"', async () => {
    const probe = await createGateway({ port: 0, quiet: true, dbPath: ':memory:', storage: { root: join(g.dir, 'probe') } })
    const closedUrl = probe.url
    await probe.close()
    const refused = startHost({ KTRDR_API_URL: closedUrl, WORKER_ID: 'unreachable-1' })
    const dns = startHost({ KTRDR_API_URL: 'http://ktrdr-gateway.invalid:8000', WORKER_ID: 'unreachable-2' })
    try {
      const port = new URL(closedUrl).port
      expect(await refused.waitFor(/Failed to register with backend .*retrying/)).toMatch(
        new RegExp(
          `Failed to register with backend ${closedUrl} \\(attempt 1\\): Connection refused \\(ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)`,
        ),
      )
      expect(await dns.waitFor(/Failed to register with backend .*retrying/)).toMatch(
        /Failed to register with backend http:\/\/ktrdr-gateway\.invalid:8000 \(attempt 1\): DNS failure \((ENOTFOUND|EAI_AGAIN) ktrdr-gateway\.invalid\)/,
      )
      expect(refused.output() + dns.output()).not.toContain('fetch failed')
    } finally {
      refused.child.kill('SIGTERM')
      dns.child.kill('SIGTERM')
    }
    expect(await refused.exited).toBe(0)
    expect(await dns.exited).toBe(0)
  })
})

describe('ktrdr host: a GPU declared, an unknown capability refused', () => {
  it('--gpu MPS --gpu-count 2 --gpu-memory 16 registers those capabilities; --help offers --gpu and --no-gpu', async () => {
    const host = startHost({ KTRDR_API_URL: g.url, WORKER_ID: 'declared-gpu-1', WORKER_TYPE: 'training' }, [
      '--gpu',
      'MPS',
      '--gpu-count',
      '2',
      '--gpu-memory',
      '16',
    ])
    const help = startHost({}, ['--help'])
    try {
      await host.waitFor(/Worker endpoint: http/)
      const record = (await (await fetch(`${g.url}/api/v1/workers/declared-gpu-1`)).json()) as {
        capabilities: Record<string, unknown>
      }
      expect(record.capabilities).toMatchObject({ gpu: true, gpu_type: 'MPS', gpu_count: 2, gpu_memory_gb: 16 })
      expect(await help.exited).toBe(0)
      expect(help.output()).toMatch(/--gpu\s+Declare a GPU that nvidia-smi cannot see/)
      expect(help.output()).toMatch(/--no-gpu\s+Advertise no GPU and skip nvidia-smi detection/)
      expect(help.output()).toMatch(/--gpu-count/)
    } finally {
      host.child.kill('SIGTERM')
    }
    expect(await host.exited).toBe(0)
  })

  it('KTRDR_HOST_CAPABILITIES with an unknown word: exits non-zero naming it', async () => {
    const host = startHost({ KTRDR_API_URL: g.url, WORKER_ID: 'typo-1', KTRDR_HOST_CAPABILITIES: 'gpus' })
    expect(await host.exited).not.toBe(0)
    expect(host.output()).toContain('unknown capability "gpus" (did you mean "gpu"?)')
    const listed = (await (await fetch(`${g.url}/api/v1/workers`)).json()) as Array<{ worker_id: string }>
    expect(listed.map((w) => w.worker_id)).not.toContain('typo-1')
  })
})

describe('ktrdr host: a cluster token the gateway cannot call it with', () => {
  it('is refused at registration with the reason in the journal, and never listed', async () => {
    // This test file's gateway has no tokens: it would call the host without one.
    const host = startHost({ KTRDR_API_URL: g.url, WORKER_ID: 'token-host-1', KTRDR_CLUSTER_TOKEN: 'only-the-host-has-it' })
    try {
      expect(await host.waitFor(/Failed to register with backend .*retrying/)).toMatch(
        /Failed to register with backend \S+ \(attempt 1, HTTP 401\): This host has a cluster token \(KTRDR_CLUSTER_TOKEN\) but the gateway has none/,
      )
      const listed = (await (await fetch(`${g.url}/api/v1/workers`)).json()) as Array<{ worker_id: string }>
      expect(listed.map((w) => w.worker_id)).not.toContain('token-host-1')
    } finally {
      host.child.kill('SIGTERM')
    }
    expect(await host.exited).toBe(0)
  })
})
