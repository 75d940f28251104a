// Logs and metrics end to end: a real host runs the real echo bundle, which writes through
// ctx.logger, stdout and stderr; the lines are followed from the gateway while the function still
// runs, kept with the operation, and printed by `ktrdr ops logs`. The gateway's and the host's
// /metrics, read with an independent parser, move with deploys and invocations.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGateway, type Gateway } from '../../runtime/gateway/index.ts'
import { createHost, type KtrdrHost } from '../../runtime/host/index.ts'
import type { Operation, OperationLogLine } from '../../runtime/protocol/index.ts'
import { api, buildEcho, publish, readMetrics, until } from '../kit/index.ts'
import { REPO, freePort, spawnKtrdr, type KtrdrChild } from './_cluster.ts'

let root: string
let gateway: Gateway
let host: KtrdrHost
let archive: Uint8Array

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktrdr-logs-'))
  const storage = { root: join(root, 'store') }
  gateway = await createGateway({ port: 0, quiet: true, dbPath: join(root, 'gateway.db'), storage, apiToken: null, clusterToken: null })
  archive = (await buildEcho(join(root, 'build'))).archive
  await publish(gateway.url, 'echo', archive)
  // Its own level is 'error': an operation's log does not depend on how verbose its host is.
  host = await createHost({ workerId: 'log-host', apiUrl: gateway.url, port: 0, storage, detectGpu: false, logLevel: 'error' })
  await host.registered
}, 180_000)

afterAll(async () => {
  await host?.close({ timeoutMs: 1000 }).catch(() => {})
  await gateway?.close()
  await rm(root, { recursive: true, force: true })
})

const invoke = async (input: Record<string, unknown>) =>
  (await api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', { body: { input } })).body.operation_id

async function* events(res: Response): AsyncGenerator<[string, any]> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let cut: number
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      yield [/^event: (.*)$/m.exec(block)![1]!, JSON.parse(/^data: (.*)$/m.exec(block)![1]!)]
    }
  }
}

describe('operation logs from a real function', () => {
  it('are followed while the function runs: logger, stdout and stderr lines, then the final state', async () => {
    const id = await invoke({ steps: 6, delay_ms: 6000, print: 'hello from the function' })
    const res = await fetch(`${gateway.url}/api/v1/operations/${id}/logs?follow=1`)
    const followed: OperationLogLine[] = []
    let stateAtFirstStep: Operation | null = null
    let final: Operation | null = null
    for await (const [event, data] of events(res)) {
      if (event !== 'log') {
        final = data
        continue
      }
      followed.push(data)
      // The first step's line is here while five more steps (~5 s) are still to run.
      if (data.message === 'Step 1/6') stateAtFirstStep = (await api<Operation>(gateway.url, `/api/v1/operations/${id}`)).body
    }
    expect(stateAtFirstStep?.status).toBe('running')
    expect(stateAtFirstStep!.progress.percentage).toBeLessThan(100)
    expect(final?.status).toBe('completed')
    const shown = followed.map((l) => `${l.stream}/${l.level}: ${l.message}`)
    expect(shown).toEqual(
      expect.arrayContaining([
        'stdout/info: hello from the function',
        'stderr/error: hello from the function',
        ...[1, 2, 3, 4, 5, 6].map((i) => `logger/info: Step ${i}/6`),
      ]),
    )
    // Steps in order; numbered per attempt without gaps.
    expect(followed.filter((l) => l.stream === 'logger').map((l) => l.message)).toEqual([1, 2, 3, 4, 5, 6].map((i) => `Step ${i}/6`))
    expect(followed.map((l) => l.n).sort((a, b) => a - b)).toEqual(followed.map((_, i) => i + 1))
    // What was followed is what is kept.
    const page = (await api<{ data: OperationLogLine[]; total_count: number }>(gateway.url, `/api/v1/operations/${id}/logs`)).body
    expect(page.total_count).toBe(followed.length)
    expect(page.data).toEqual(followed)
  })

  it('ktrdr ops logs prints them, -f follows until the end and exits 1 when the function failed', async () => {
    const id = await invoke({ steps: 3, delay_ms: 3000, fail: 'throw', print: 'before the throw' })
    const follow = spawnKtrdr(['ops', 'logs', id, '-f'], { KTRDR_API_URL: gateway.url })
    const code = await new Promise<number | null>((resolve) => follow.proc.once('exit', resolve))
    const out = follow.output()
    expect(code, out).toBe(1)
    expect(out).toMatch(/ stdout before the throw\n/)
    expect(out).toMatch(/ stderr before the throw\n/)
    expect(out).toMatch(/ info +Step 3\/3\n/)
    expect(out).toContain(`${id} failed: echo was asked to throw`)
    const list = spawnKtrdr(['ops', 'logs', id, '--json'], { KTRDR_API_URL: gateway.url })
    expect(await new Promise((resolve) => list.proc.once('exit', resolve))).toBe(0)
    const lines = list
      .output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as OperationLogLine)
    expect(lines.filter((l) => l.stream === 'logger').map((l) => l.message)).toEqual(['Step 1/3', 'Step 2/3', 'Step 3/3'])
  })
})

describe('metrics of a real gateway and host', () => {
  const scrape = async (url: string) => {
    const res = await fetch(`${url}/metrics`)
    expect(res.status).toBe(200)
    return readMetrics(await res.text())
  }

  it('move with a deploy and invocations: every phase, cold then warm executors, the bundle cache', async () => {
    // A host's errors have the gateway's body.
    const refused = await fetch(`${host.url}/invocations/op_none`, { method: 'DELETE' })
    expect(refused.status).toBe(404)
    expect(await refused.json()).toEqual({
      statusCode: 404,
      code: 'OPERATION_NOT_RUNNING',
      message: 'Operation op_none is not running on this host',
      retryable: false,
    })
    // Hosts answer with the request id too.
    expect((await fetch(`${host.url}/health`, { headers: { 'x-request-id': 'host-trace' } })).headers.get('x-request-id')).toBe(
      'host-trace',
    )
    const g0 = await scrape(gateway.url)
    const h0 = await scrape(host.url)
    await publish(gateway.url, 'echo', archive)
    for (let i = 0; i < 2; i++)
      expect(
        (await api<Operation>(gateway.url, '/api/v1/functions/echo/invoke', { body: { input: {}, wait_seconds: 30 } })).body.status,
      ).toBe('completed')
    const g1 = await scrape(gateway.url)
    const h1 = await scrape(host.url)
    const moved = (before: number, after: number) => after - before
    expect(moved(g0.value('ktrdr_deploys_total', { function: 'echo' }), g1.value('ktrdr_deploys_total', { function: 'echo' }))).toBe(1)
    expect(
      moved(
        g0.value('ktrdr_operations_finished_total', { function: 'echo', status: 'completed' }),
        g1.value('ktrdr_operations_finished_total', { function: 'echo', status: 'completed' }),
      ),
    ).toBe(2)
    for (const phase of ['queued', 'placed', 'bundle_fetch', 'executor_start', 'run'])
      expect(
        moved(
          g0.histogramCount('ktrdr_operation_phase_seconds', { function: 'echo', phase }),
          g1.histogramCount('ktrdr_operation_phase_seconds', { function: 'echo', phase }),
        ),
        phase,
      ).toBe(2)
    expect(g1.value('ktrdr_host_slots', { worker_id: 'log-host', state: 'free' })).toBe(1)
    // The host's call-path channel is open (it opens right after registering).
    await until(async () => (await scrape(gateway.url)).value('ktrdr_channels', { kind: 'host' }) === 1, 10_000, 'the host channel counted')
    // The host: the earlier tests' executor was reused (warm) or replaced after the failure (cold).
    const starts = (m: typeof h0) => m.value('ktrdr_host_executor_starts_total', { function: 'echo' })
    expect(moved(starts(h0), starts(h1))).toBe(2)
    expect(h1.value('ktrdr_host_executor_starts_total', { function: 'echo', kind: 'warm' })).toBeGreaterThanOrEqual(1)
    expect(h1.value('ktrdr_host_executor_starts_total', { function: 'echo', kind: 'cold' })).toBeGreaterThanOrEqual(1)
    expect(
      moved(
        h0.value('ktrdr_host_invocations_total', { function: 'echo', status: 'completed' }),
        h1.value('ktrdr_host_invocations_total', { function: 'echo', status: 'completed' }),
      ),
    ).toBe(2)
    for (const phase of ['bundle_fetch', 'executor_start', 'run'])
      expect(
        moved(
          h0.histogramCount('ktrdr_host_invocation_phase_seconds', { function: 'echo', phase }),
          h1.histogramCount('ktrdr_host_invocation_phase_seconds', { function: 'echo', phase }),
        ),
        phase,
      ).toBe(2)
    expect(h1.value('ktrdr_host_bundle_cache_bytes')).toBeGreaterThan(100_000)
    expect(h1.value('ktrdr_host_bundles')).toBe(1)
    expect(h1.value('ktrdr_host_executors', { state: 'idle' })).toBeGreaterThanOrEqual(1)
    expect(h1.value('ktrdr_host_slots', { state: 'free' })).toBe(1)

    // Every series the shipped Grafana dashboard queries is one of these.
    const dashboard = await readFile(join(REPO, 'deploy/prometheus/grafana-dashboard.json'), 'utf8')
    const queried = new Set([...dashboard.matchAll(/\bktrdr_[a-z_]+/g)].map((m) => m[0].replace(/_bucket$/, '')))
    const served = new Set([...g1.families, ...h1.families].map((f) => f.name))
    expect([...queried].filter((name) => !served.has(name))).toEqual([])
    expect(queried.size).toBeGreaterThanOrEqual(14)
  })
})

describe('JSON logs of a gateway and a host run as services', () => {
  const children: KtrdrChild[] = []
  afterAll(async () => {
    for (const child of children) await child.kill('SIGTERM')
  })

  it('KTRDR_LOG_FORMAT=json: every stdout line is one JSON object; request ids and what functions print are in them', async () => {
    const home = join(root, 'json-cluster')
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const env = { KTRDR_LOG_FORMAT: 'json', LOG_LEVEL: 'debug', KTRDR_HOME: home }
    const stdout = (child: KtrdrChild) => {
      let out = ''
      child.proc.stdout!.on('data', (d: Buffer) => (out += d.toString()))
      return () => out
    }
    const gw = spawnKtrdr(['gateway', '--port', String(port)], env)
    children.push(gw)
    const gwOut = stdout(gw)
    await until(() => fetch(`${url}/health`).then((r) => r.ok), 60_000, 'the gateway')
    await publish(url, 'echo', archive)
    const hs = spawnKtrdr(['host', '--api', url, '--port', '0', '--id', 'json-host', '--no-gpu'], env)
    children.push(hs)
    const hostOut = stdout(hs)
    await until(async () => (await api<unknown[]>(url, '/api/v1/workers')).body.length === 1, 60_000, 'the host to register')
    const res = await fetch(`${url}/api/v1/functions/echo/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'json-trace-1' },
      body: JSON.stringify({ input: { steps: 1, print: 'printed by echo' }, wait_seconds: 30 }),
    })
    expect(res.headers.get('x-request-id')).toBe('json-trace-1')
    expect(((await res.json()) as Operation).status).toBe('completed')
    const parse = (text: string) =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>
          } catch {
            throw new Error(`Not a JSON line: ${line}`)
          }
        })
    await until(() => parse(hostOut()).some((l) => l.message === 'Step 1/1'), 10_000, "echo's logger line in the host's log")
    const access = await until(() => parse(gwOut()).find((l) => l.request_id === 'json-trace-1'), 10_000, "the request's access line")
    expect(access).toMatchObject({
      level: 'debug',
      tag: 'gateway',
      method: 'POST',
      path: '/api/v1/functions/echo/invoke',
      status: 200,
    })
    const hostLines = parse(hostOut())
    expect(hostLines.every((l) => typeof l.time === 'string' && typeof l.level === 'string')).toBe(true)
    expect(hostLines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: 'printed by echo', stream: 'stdout', function: 'echo', level: 'info' }),
        expect.objectContaining({ message: 'Step 1/1', level: 'info', tag: expect.stringMatching(/^json-host:op_dummy_/) }),
      ]),
    )
  })
})
