// `ktrdr host` configured only by the deployment guide's environment variables.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGateway, type Gateway } from '../../gateway/index.ts'

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'ktrdr.mjs')
let dir: string
let gateway: Gateway

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktrdr-cli-host-'))
  gateway = await createGateway({
    port: 0,
    quiet: true,
    dbPath: join(dir, 'gw.db'),
    storage: { root: join(dir, 'store') },
    apiToken: null,
    clusterToken: null,
  })
})
afterAll(async () => {
  await gateway?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('ktrdr host', () => {
  it('registers from the guide env, logs as the guide shows, and drains on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'host'], {
      env: {
        ...process.env,
        KTRDR_API_URL: gateway.url,
        WORKER_ID: 'ktrdr-worker-bt-1',
        WORKER_TYPE: 'backtesting',
        WORKER_PORT: '0',
        WORKER_CORES: '4',
        WORKER_MEMORY_GB: '8',
        LOG_LEVEL: 'INFO',
        KTRDR_HOME: join(dir, 'store'),
        KTRDR_HOST_DETECT_GPU: '0',
        KTRDR_CLUSTER_TOKEN: '',
        KTRDR_API_TOKEN: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d) => {
      output += d
    })
    child.stderr.on('data', (d) => {
      output += d
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      const deadline = Date.now() + 30_000
      while (!/Worker endpoint: http/.test(output)) {
        if (Date.now() > deadline) throw new Error(`no registration log:\n${output}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(output).toContain('✅ Worker registered successfully with backend')
      expect(output).toContain('Worker ID: ktrdr-worker-bt-1')
      const workers = (await (await fetch(`${gateway.url}/api/v1/workers`)).json()) as Array<{
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
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    // Stopped gracefully, it deregistered: not left TEMPORARILY_UNAVAILABLE until the removal threshold.
    expect(output).toContain('Worker ktrdr-worker-bt-1 deregistered from')
    expect(await (await fetch(`${gateway.url}/api/v1/workers`)).json()).toEqual([])
  })
})

/** `ktrdr host` with the guide's env on top of a quiet default; its combined output and exit. */
function startHost(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [BIN, 'host', ...args], {
    env: {
      ...process.env,
      WORKER_PORT: '0',
      KTRDR_HOME: join(dir, 'store'),
      KTRDR_HOST_DETECT_GPU: '0',
      KTRDR_CLUSTER_TOKEN: '',
      KTRDR_API_TOKEN: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const waiters: Array<() => void> = []
  const take = (d: Buffer) => {
    output += d
    for (const w of waiters.splice(0)) w()
  }
  child.stdout.on('data', take)
  child.stderr.on('data', take)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    exited,
    output: () => output,
    /** Resolves with the output once it matches; rejects if the process exits first. */
    async waitFor(pattern: RegExp): Promise<string> {
      let done = false
      void exited.then(() => {
        done = true
        for (const w of waiters.splice(0)) w()
      })
      while (!pattern.test(output)) {
        if (done) throw new Error(`exited before ${pattern}:\n${output}`)
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
      return output
    },
  }
}

describe('ktrdr host: what the journal says', () => {
  it('a gateway it cannot reach: the cause (connection refused, DNS), not "fetch failed"', async () => {
    const probe = await createGateway({ port: 0, quiet: true, dbPath: ':memory:', storage: { root: join(dir, 'probe') } })
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
    const host = startHost({ KTRDR_API_URL: gateway.url, WORKER_ID: 'declared-gpu-1', WORKER_TYPE: 'training' }, [
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
      const record = (await (await fetch(`${gateway.url}/api/v1/workers/declared-gpu-1`)).json()) as {
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
    const host = startHost({ KTRDR_API_URL: gateway.url, WORKER_ID: 'typo-1', KTRDR_HOST_CAPABILITIES: 'gpus' })
    expect(await host.exited).not.toBe(0)
    expect(host.output()).toContain('unknown capability "gpus" (did you mean "gpu"?)')
    const listed = (await (await fetch(`${gateway.url}/api/v1/workers`)).json()) as Array<{ worker_id: string }>
    expect(listed.map((w) => w.worker_id)).not.toContain('typo-1')
  })
})

describe('ktrdr host: a cluster token the gateway cannot call it with', () => {
  it('is refused at registration with the reason in the journal, and never listed', async () => {
    // This test file's gateway has no tokens: it would call the host without one.
    const host = startHost({ KTRDR_API_URL: gateway.url, WORKER_ID: 'token-host-1', KTRDR_CLUSTER_TOKEN: 'only-the-host-has-it' })
    try {
      expect(await host.waitFor(/Failed to register with backend .*retrying/)).toMatch(
        /Failed to register with backend \S+ \(attempt 1, HTTP 401\): This host has a cluster token \(KTRDR_CLUSTER_TOKEN\) but the gateway has none/,
      )
      const listed = (await (await fetch(`${gateway.url}/api/v1/workers`)).json()) as Array<{ worker_id: string }>
      expect(listed.map((w) => w.worker_id)).not.toContain('token-host-1')
    } finally {
      host.child.kill('SIGTERM')
    }
    expect(await host.exited).toBe(0)
  })
})
