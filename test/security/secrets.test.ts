// Issue 11.3: functions never see cluster secrets. Real hosts running real executors (spare and
// freshly forked), real storage, a real gateway and the real CLI.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { consola, createConsola, type LogObject } from 'consola'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveStorageOptions } from '../../storage/index.ts'
import { createGateway, type Gateway } from '../../runtime/gateway/index.ts'
import { createHost, type KtrdrHost } from '../../runtime/host/index.ts'
import { buildAndStore, dispatchRequest, invokeAndWait, type Published } from '../../runtime/host/test/_setup.ts'
import { publish, tempStorage, until, type TempStorage } from '../kit/index.ts'

const FIXTURES = join(import.meta.dirname, 'fixtures')
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ktrdr.mjs')
const HOST_SECRETS: Record<string, string> = {
  KTRDR_CLUSTER_TOKEN: 'cluster-token-9f3a1c5e77d2',
  KTRDR_API_TOKEN: 'api-token-4b8e2d6f1a90',
  KTRDR_STORAGE_URL: 'http://storage-cred-7c1d.invalid/api/v1/storage',
  KTRDR_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
  KTRDR_DB_PASSWORD: 'db-password-31e0c2aa58',
}
const secretValues = Object.values(HOST_SECRETS)

let env: TempStorage
const bundles: Record<string, Published> = {}
const savedEnv = { ...process.env }
const logLines: string[] = []
const capture = {
  log: (o: LogObject) => {
    logLines.push(
      `${o.tag} ${o.args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a, Object.getOwnPropertyNames(a ?? {})))).join(' ')}`,
    )
  },
}

beforeAll(async () => {
  env = await tempStorage('ktrdr-security-')
  for (const name of ['env-dump', 'env-dump-other']) {
    const published = await buildAndStore(join(FIXTURES, name), env.storage, join(env.root, 'build'))
    bundles[name] = { ...published, ref: { ...published.ref, timeout_seconds: 120 } }
  }
  await env.storage.data.setItem('AAPL/1h.json', JSON.stringify({ bars: 3 }))
  Object.assign(process.env, HOST_SECRETS, {
    SECURITY_TEST_DECLARED: 'declared-value',
    SECURITY_TEST_UNDECLARED: 'undeclared-value',
    KTRDR_CHECKPOINT_EPOCH_INTERVAL: '7',
  })
  consola.addReporter(capture)
}, 240_000)

afterAll(async () => {
  consola.removeReporter(capture)
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key]
  Object.assign(process.env, savedEnv)
  await env?.cleanup()
})

/** A standalone host on the temp storage (explicit options: KTRDR_STORAGE_URL in our env must not apply to the host either). */
async function startHost(opts: { spares: number; functionStorage?: 'direct' | 'proxy' }): Promise<KtrdrHost> {
  const host = await createHost({
    apiUrl: null,
    port: 0,
    storage: resolveStorageOptions({ root: env.storageRoot }, {}),
    cacheDir: join(env.root, `cache-${opts.spares}-${opts.functionStorage}`),
    clusterToken: HOST_SECRETS.KTRDR_CLUSTER_TOKEN,
    detectGpu: false,
    executorMemoryMb: 128,
    spareExecutors: opts.spares,
    functionStorage: opts.functionStorage,
    forwardExecutorOutput: false,
    logLevel: 'warn',
    prewarm: false,
  })
  if (opts.spares > 0) await until(async () => (await hostInfo(host)).spares === opts.spares, 30_000, 'the spare executor')
  return host
}
async function hostInfo(host: KtrdrHost) {
  const res = await fetch(`${host.url}/`, { headers: { authorization: `Bearer ${HOST_SECRETS.KTRDR_CLUSTER_TOKEN}` } })
  return res.json() as Promise<{ spares: number; storage_capabilities: number; executors: Array<{ pid: number }> }>
}
const invoke = (host: KtrdrHost, name: string, input: unknown, secrets?: Record<string, string>) =>
  invokeAndWait(host.url, dispatchRequest(bundles[name]!.ref, input, secrets ? { secrets } : {}), HOST_SECRETS.KTRDR_CLUSTER_TOKEN)

function expectNoHostSecrets(seen: { env: Record<string, string>; storage_options: unknown }) {
  const ktrdr = Object.keys(seen.env)
    .filter((k) => k.startsWith('KTRDR_'))
    .sort()
  expect(ktrdr).toEqual(['KTRDR_CHECKPOINT_EPOCH_INTERVAL', 'KTRDR_FUNCTION', 'KTRDR_FUNCTION_VERSION'])
  const text = JSON.stringify(seen)
  for (const value of secretValues) expect(text).not.toContain(value)
  expect(seen.env.SECURITY_TEST_DECLARED).toBe('declared-value')
  expect(seen.env.SECURITY_TEST_UNDECLARED).toBeUndefined()
  expect(seen.env.PATH).toBeTruthy()
}

describe('executor environment', () => {
  for (const spares of [1, 0]) {
    it(`holds none of the host's KTRDR_* secrets (${spares ? 'pre-started spare' : 'fresh fork'}, then warm reuse)`, async () => {
      const host = await startHost({ spares })
      try {
        const first = await invoke(host, 'env-dump', {})
        expect(first.status).toBe('completed')
        expectNoHostSecrets(first.result)
        expect(first.result.env.KTRDR_FUNCTION).toBe('env-dump')
        const second = await invoke(host, 'env-dump', {})
        expect(second.result.pid).toBe(first.result.pid)
        expectNoHostSecrets(second.result)
      } finally {
        await host.close({ timeoutMs: 2000 })
      }
    }, 60_000)
  }
})

describe('function storage scope', () => {
  const ops = [
    { mount: 'data', op: 'get', key: 'AAPL/1h.json' },
    { mount: 'results', op: 'set', key: 'allowed/out.json', value: '{"ok":true}' },
    { mount: 'results', op: 'set', key: 'elsewhere/out.json', value: 'x' },
    { mount: 'data', op: 'set', key: 'AAPL/1h.json', value: 'overwritten' },
    { mount: 'models', op: 'get', key: 'any/model.json' },
    { mount: 'results', op: 'keys', key: '' },
  ]
  for (const mode of ['direct', 'proxy'] as const) {
    it(`allows what the function declared and refuses the rest (${mode})`, async () => {
      const host = await startHost({ spares: 0, functionStorage: mode })
      try {
        await env.storage.results.setItem('elsewhere/existing.json', 'not yours')
        const r = await invoke(host, 'env-dump', { ops })
        expect(r.status).toBe('completed')
        const [read, write, outside, readOnly, undeclared, list] = r.result.results
        expect(read).toMatchObject({ ok: true, value: { bars: 3 } })
        expect(write).toMatchObject({ ok: true })
        expect(outside).toMatchObject({ ok: false, code: 'STORAGE_SCOPE_DENIED' })
        expect(outside.message).toContain('only under allowed')
        expect(readOnly).toMatchObject({ ok: false, code: 'STORAGE_SCOPE_DENIED' })
        expect(readOnly.message).toContain("as 'read'")
        expect(undeclared).toMatchObject({ ok: false, code: 'STORAGE_SCOPE_DENIED' })
        expect(list, JSON.stringify(list)).toMatchObject({ ok: true })
        expect(list.value).toContain('allowed:out.json')
        expect(list.value).not.toContain('elsewhere:existing.json')
        expect(await env.storage.results.getItem('allowed/out.json')).toEqual({ ok: true })
        expect(await env.storage.results.hasItem('elsewhere/out.json')).toBe(false)
        expect(await env.storage.data.getItem('AAPL/1h.json')).toEqual({ bars: 3 })
        const mounts = r.result.storage_options.mounts
        if (mode === 'proxy') expect(mounts.data.base).toMatch(/\/_storage\/data$/)
        else expect(mounts.data).toMatchObject({ driver: 'fs', readOnly: true })
        expect(mounts.models.driver).toBe('none')
        expectNoHostSecrets(r.result)
      } finally {
        await host.close({ timeoutMs: 2000 })
      }
    }, 60_000)
  }

  it('a capability is checked by the host itself and stops working when its invocation ends', async () => {
    const host = await startHost({ spares: 0, functionStorage: 'proxy' })
    let report!: (seen: any) => void
    const reported = new Promise<any>((resolve) => {
      report = resolve
    })
    const sink = createServer((req: IncomingMessage, res) => {
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        res.end('ok')
        report(JSON.parse(body))
      })
    })
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r))
    try {
      const request = dispatchRequest(bundles['env-dump']!.ref, { report_to: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/` })
      const done = invokeAndWait(host.url, request, HOST_SECRETS.KTRDR_CLUSTER_TOKEN)
      const seen = await reported
      const { base, headers } = seen.storage_options.mounts.data as { base: string; headers: Record<string, string> }
      const results = seen.storage_options.mounts.results.base as string
      expect(headers.authorization).toMatch(/^Bearer [\w-]{40,}$/)
      expect(headers.authorization).not.toContain(HOST_SECRETS.KTRDR_CLUSTER_TOKEN)
      const call = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { ...headers, ...(init.headers as object) } })

      // While the invocation runs: in scope works, out of scope is refused by the host (no executor-side check involved).
      expect(await (await call(`${base}/AAPL/1h.json`)).json()).toEqual({ bars: 3 })
      const outside = await call(`${results}/elsewhere/x.json`, { method: 'PUT', body: 'x' })
      expect(outside.status).toBe(403)
      expect(await outside.json()).toMatchObject({ statusMessage: 'STORAGE_SCOPE_DENIED' })
      expect((await call(`${base}/AAPL/1h.json`, { method: 'PUT', body: 'x' })).status).toBe(403)
      expect((await call(base.replace(/data$/, 'models') + '/m.json')).status).toBe(403)
      // The cluster token is not a storage capability.
      expect(
        (await fetch(`${base}/AAPL/1h.json`, { headers: { authorization: `Bearer ${HOST_SECRETS.KTRDR_CLUSTER_TOKEN}` } })).status,
      ).toBe(401)
      expect((await hostInfo(host)).storage_capabilities).toBe(1)

      const cancelled = await fetch(`${host.url}/invocations/${request.operation_id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${HOST_SECRETS.KTRDR_CLUSTER_TOKEN}` },
      })
      expect(cancelled.status).toBe(202)
      expect((await done).status).toBe('cancelled')
      const after = await call(`${base}/AAPL/1h.json`)
      expect(after.status).toBe(401)
      expect(await after.json()).toMatchObject({ statusMessage: 'CAPABILITY_INVALID' })
      expect((await hostInfo(host)).storage_capabilities).toBe(0)
    } finally {
      sink.close()
      await host.close({ timeoutMs: 2000 })
    }
  }, 60_000)
})

describe('per-function secrets through the gateway', () => {
  let gateway: Gateway
  let host: KtrdrHost
  const API = 'api-token-for-secrets-test'
  const gatewayLogger = createConsola({ level: 5, reporters: [capture] }).withTag('gateway')

  beforeAll(async () => {
    gateway = await createGateway(
      {
        port: 0,
        dbPath: join(env.root, 'gw', 'gateway.db'),
        storage: resolveStorageOptions({ root: env.storageRoot }, {}),
        apiToken: API,
        clusterToken: HOST_SECRETS.KTRDR_CLUSTER_TOKEN,
        secretsKey: null,
      },
      { logger: gatewayLogger },
    )
    for (const name of ['env-dump', 'env-dump-other']) await publish(gateway.url, name, bundles[name]!.archive, API)
    host = await createHost({
      apiUrl: gateway.url,
      port: 0,
      storage: resolveStorageOptions({ root: env.storageRoot }, {}),
      cacheDir: join(env.root, 'cache-gw'),
      clusterToken: HOST_SECRETS.KTRDR_CLUSTER_TOKEN,
      detectGpu: false,
      executorMemoryMb: 128,
      spareExecutors: 1,
      forwardExecutorOutput: false,
      logLevel: 'debug',
      heartbeatIntervalMs: 500,
      register: { initialDelayMs: 50, maxDelayMs: 200 },
    })
    await host.registered
  }, 60_000)
  afterAll(async () => {
    await host?.close({ timeoutMs: 2000 })
    await gateway?.close()
  })

  async function ktrdr(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, ...args],
        { env: { ...savedEnv, KTRDR_API_URL: gateway.url, KTRDR_API_TOKEN: API }, timeout: 60_000 },
        (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
        },
      )
      child.stdin!.end(stdin ?? '')
    })
  }
  const call = async (path: string, init: { method?: string; body?: unknown; token?: string } = {}) => {
    const res = await fetch(`${gateway.url}${path}`, {
      method: init.method ?? (init.body ? 'POST' : 'GET'),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${init.token ?? API}` },
      body: init.body ? JSON.stringify(init.body) : undefined,
    })
    return { status: res.status, text: await res.text() }
  }
  const hash = (v: string) => `sha256:${createHash('sha256').update(v).digest('hex')}`
  const run = async (name: string) => {
    const r = await call(`/api/v1/functions/${name}/invoke`, {
      body: { input: { hash: ['BROKER_API_KEY', 'OTHER_TOKEN'] }, wait_seconds: 60 },
    })
    expect(r.status).toBe(200)
    const op = JSON.parse(r.text)
    expect(op.status).toBe('completed')
    return { op, text: r.text, seen: op.result as { env: Record<string, string>; pid: number; storage_options: unknown } }
  }

  it('set/list/rm via the CLI; a secret reaches its function only, changes reach the next invocation, values appear in no response or log', async () => {
    const first = 'sk-live-first-5d0c9e1b7a'
    const second = 'sk-live-second-8a2f4c6e13'
    const set = await ktrdr(['secret', 'set', 'env-dump', 'BROKER_API_KEY'], `${first}\n`)
    expect(set).toMatchObject({ code: 0 })
    expect(set.stdout).toContain('Secret BROKER_API_KEY of env-dump set')
    expect((await ktrdr(['secret', 'set', 'env-dump', 'OTHER_TOKEN', '--value', 'other-value-66b1'])).code).toBe(0)
    const list = await ktrdr(['secret', 'list', 'env-dump'])
    expect(list.stdout).toMatch(/NAME\s+UPDATED_AT/)
    expect(list.stdout).toContain('BROKER_API_KEY')
    expect(list.stdout).toContain('OTHER_TOKEN')
    expect(list.stdout).not.toContain(first)
    const listJson = await call('/api/v1/functions/env-dump/secrets')
    expect(JSON.parse(listJson.text).data.map((s: { name: string }) => s.name)).toEqual(['BROKER_API_KEY', 'OTHER_TOKEN'])

    // Bad input: a clear 4xx, and the value is not echoed.
    const reserved = await ktrdr(['secret', 'set', 'env-dump', 'KTRDR_CLUSTER_TOKEN', '--value', 'x'])
    expect(reserved.code).not.toBe(0)
    expect(reserved.stderr).toContain('reserved')
    const badJson = await fetch(`${gateway.url}/api/v1/functions/env-dump/secrets/X`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API}` },
      body: `{"value": ${first}`,
    })
    expect(badJson.status).toBe(400)
    expect(await badJson.text()).not.toContain(first)
    expect((await call('/api/v1/functions/env-dump/secrets', { token: HOST_SECRETS.KTRDR_CLUSTER_TOKEN })).status).toBe(401)

    const a = await run('env-dump')
    expect(a.seen.env.BROKER_API_KEY).toBe(hash(first))
    expect(a.seen.env.OTHER_TOKEN).toBe(hash('other-value-66b1'))
    const { BROKER_API_KEY: _k, OTHER_TOKEN: _o, ...rest } = a.seen.env
    expectNoHostSecrets({ env: rest, storage_options: a.seen.storage_options })
    const b = await run('env-dump-other')
    expect(b.seen.env.BROKER_API_KEY).toBeUndefined()
    expect(b.seen.env.OTHER_TOKEN).toBeUndefined()

    // Changed after the executor warmed: the next invocation gets the new value, from a new executor.
    expect((await ktrdr(['secret', 'set', 'env-dump', 'BROKER_API_KEY'], second)).code).toBe(0)
    const c = await run('env-dump')
    expect(c.seen.env.BROKER_API_KEY).toBe(hash(second))
    expect(c.seen.pid).not.toBe(a.seen.pid)

    expect((await ktrdr(['secret', 'rm', 'env-dump', 'BROKER_API_KEY'])).code).toBe(0)
    const missing = await ktrdr(['secret', 'rm', 'env-dump', 'BROKER_API_KEY'])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain('has no secret BROKER_API_KEY')
    expect((await ktrdr(['secret', 'list', 'env-dump'])).stdout).not.toContain('BROKER_API_KEY')
    const d = await run('env-dump')
    expect(d.seen.env.BROKER_API_KEY).toBeUndefined()
    expect(d.seen.env.OTHER_TOKEN).toBe(hash('other-value-66b1'))

    // No value in any gateway answer, stored operation, database page or log line.
    const values = [first, second, 'other-value-66b1']
    const answers = [a.text, b.text, c.text, d.text, list.stdout, listJson.text]
    for (const path of [
      '/api/v1/operations?limit=100',
      `/api/v1/operations/${a.op.operation_id}`,
      '/api/v1/functions/env-dump',
      '/api/v1/workers',
    ]) {
      const r = await call(path)
      expect(r.status).toBe(200)
      answers.push(r.text)
    }
    await gateway.services.operations.flushNow()
    const files = [join(env.root, 'gw', 'gateway.db'), join(env.root, 'gw', 'gateway.db-wal')]
    const pages = await Promise.all(files.map((f) => readFile(f).catch(() => Buffer.alloc(0))))
    expect(pages[0]!.length + pages[1]!.length).toBeGreaterThan(0)
    expect(await gateway.services.database.sql.get('SELECT COUNT(*) AS n FROM function_secrets')).toEqual({ n: 1 })
    expect(logLines.length).toBeGreaterThan(0)
    for (const v of values) {
      for (const text of answers) expect(text).not.toContain(v)
      for (const page of pages) expect(page.includes(Buffer.from(v))).toBe(false)
      for (const line of logLines) expect(line).not.toContain(v)
    }
    for (const line of logLines) for (const v of secretValues) expect(line).not.toContain(v)
  }, 180_000)
})
