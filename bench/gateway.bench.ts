// Gateway figures, each against a baseline from the same run:
// 1. overhead: a no-op echo through the gateway vs the same call directly on the host (warm);
// 2. durable accepted invocations/s vs plain GET /health requests/s on the same server;
// 3. dead host → operation re-queued, with default settings, vs the guide's 3 × 10 s polling.
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { BenchSection } from './_types.ts'
import { createGateway } from '../runtime/gateway/index.ts'
import { createHost } from '../runtime/host/index.ts'
import type { DispatchRequest, Operation } from '../runtime/protocol/index.ts'
import { freePort, spawnKtrdr } from '../test/cluster/_cluster.ts'
import { buildEcho, publish, until } from '../test/kit/index.ts'

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
function post(url: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body))
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c) => {
          text += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const ms = (x: number) => +x.toFixed(3)

/** Load from a worker thread (own event loop): `concurrency` keep-alive clients for `seconds`. */
function load(
  url: string,
  method: 'GET' | 'POST',
  body: unknown,
  concurrency: number,
  seconds: number,
): Promise<{ ok: number; other: number; perSecond: number }> {
  const code = `
    const http = require('node:http'); const { workerData, parentPort } = require('node:worker_threads')
    const { url, method, body, concurrency, seconds } = workerData
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
    const payload = body === null ? null : Buffer.from(JSON.stringify(body))
    let ok = 0, other = 0; const end = Date.now() + seconds * 1000; const t0 = Date.now()
    function one(done) {
      if (Date.now() > end) return done()
      const req = http.request(url, { method, agent, headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {} }, (res) => {
        res.resume(); res.on('end', () => { if (res.statusCode < 300) ok++; else other++; one(done) })
      })
      req.on('error', () => { other++; one(done) })
      req.end(payload ?? undefined)
    }
    let left = concurrency
    for (let i = 0; i < concurrency; i++) one(() => { if (--left === 0) parentPort.postMessage({ ok, other, perSecond: ok / ((Date.now() - t0) / 1000) }) })
  `
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { url, method, body, concurrency, seconds } })
    w.once('message', (m) => {
      resolve(m)
      void w.terminate()
    })
    w.once('error', reject)
  })
}

export default async function run(): Promise<BenchSection> {
  const root = await mkdtemp(join(tmpdir(), 'ktrdr-bench-gw-'))
  const storage = { root: join(root, 'store') }
  const rows: BenchSection['rows'] = []
  const notes: string[] = []
  try {
    const { archive, built } = await buildEcho(join(root, 'build'))

    // 1. Overhead, warm: one host, one slot, sequential calls.
    const gateway = await createGateway({ port: 0, quiet: true, dbPath: join(root, 'gw.db'), storage, apiToken: null, clusterToken: null })
    const version = await publish(gateway.url, 'echo', archive)
    const host = await createHost({
      workerId: 'bench-host',
      apiUrl: gateway.url,
      port: 0,
      storage,
      detectGpu: false,
      logLevel: 'error',
      clusterToken: null,
    })
    await host.registered
    const ref = {
      name: 'echo',
      version: version.version,
      sha256: built.sha256,
      bundle_key: (version as unknown as { bundle_key: string }).bundle_key,
      timeout_seconds: 60,
    }
    let n = 0
    const direct = async () => {
      const req: DispatchRequest = {
        operation_id: `op_bench_direct_${++n}`,
        attempt: 1,
        function: ref,
        input: {},
        deadline_ms: Date.now() + 60_000,
      }
      const t = performance.now()
      const r = await post(`${host.url}/invocations?wait=1`, req)
      if (r.status !== 200) throw new Error(`direct call failed: ${r.status} ${r.text}`)
      return performance.now() - t
    }
    const viaGateway = async () => {
      const t = performance.now()
      const r = await post(`${gateway.url}/api/v1/functions/echo/invoke`, { input: {}, wait_seconds: 30 })
      if (r.status !== 200 || (JSON.parse(r.text) as Operation).status !== 'completed')
        throw new Error(`gateway call failed: ${r.status} ${r.text}`)
      return performance.now() - t
    }
    for (let i = 0; i < 30; i++) {
      await direct()
      await viaGateway()
    }
    const d: number[] = [],
      g: number[] = []
    for (let i = 0; i < 300; i++) {
      d.push(await direct())
      g.push(await viaGateway())
    }
    const [d50, d99, g50, g99] = [pct(d, 50), pct(d, 99), pct(g, 50), pct(g, 99)]
    rows.push({
      case: 'no-op echo directly on the host (POST /invocations?wait=1), warm',
      'p50 ms': ms(d50),
      'p99 ms': ms(d99),
      'added p50 ms': '',
      'added p99 ms': '',
      goal: '',
    })
    rows.push({
      case: 'same through the gateway (invoke, wait_seconds), warm',
      'p50 ms': ms(g50),
      'p99 ms': ms(g99),
      'added p50 ms': ms(g50 - d50),
      'added p99 ms': ms(g99 - d99),
      goal: `added p50 ≤ 1 ms (${g50 - d50 <= 1 ? 'met' : 'not met'}), p99 ≤ 5 ms (${g99 - d99 <= 5 ? 'met' : 'not met'}); e2e p50 ≤ 5 ms (${g50 <= 5 ? 'met' : 'not met'})`,
    })
    notes.push(
      "Overhead: 300 sequential warm calls each, interleaved; client, gateway and host share this process (the function runs in the host's forked executor). Through the gateway a call adds: the dispatch to the host and its 202, one batch of events back (started rides with completed) and its ack, over the host's channel; the operation's row written twice (the insert, committed before the accept is answered, and the completion; the dispatched state rides along when the call ends within the store's 10 ms write window).",
    )
    await host.close({ timeoutMs: 2000 })

    // 2. Durable accepted invocations/s, no hosts (everything queues), vs GET /health.
    const health = await load(`${gateway.url}/health`, 'GET', null, 16, 3)
    const accepted = await load(`${gateway.url}/api/v1/functions/echo/invoke`, 'POST', { input: { message: 'x' } }, 16, 3)
    rows.push({
      case: 'baseline: GET /health on the same server (16 keep-alive clients)',
      'req/s': Math.round(health.perSecond),
      'vs baseline': '1×',
      goal: '',
    })
    rows.push({
      case: 'durable accepted invocations (202, row in SQLite, queued)',
      'req/s': Math.round(accepted.perSecond),
      'vs baseline': `${(accepted.perSecond / health.perSecond).toFixed(2)}×`,
      goal: `≥ 2,000/s (${accepted.perSecond >= 2000 ? 'met' : 'not met'})`,
    })
    notes.push(
      `Accepted: ${accepted.ok} invocations in 3 s, ${accepted.other} non-2xx; load generator in a worker thread of the same process; SQLite WAL with synchronous=NORMAL (survives SIGKILL of the gateway).`,
    )
    await gateway.close()

    // 3. Dead host → re-queue, default health settings, host as a real child process.
    const detections: number[] = []
    for (let round = 0; round < 3; round++) {
      const gw = await createGateway({
        port: 0,
        quiet: true,
        dbPath: join(root, `dead-${round}.db`),
        storage,
        apiToken: null,
        clusterToken: null,
      })
      await publish(gw.url, 'echo', archive)
      const child = spawnKtrdr(
        ['host', '--api', gw.url, '--id', `victim-${round}`, '--port', String(await freePort()), '--home', storage.root, '--no-gpu'],
        { KTRDR_API_TOKEN: '', KTRDR_CLUSTER_TOKEN: '' },
      )
      try {
        await until(() => gw.services.workers.get(`victim-${round}`), 60_000, 'host registered', 50)
        const r = await post(`${gw.url}/api/v1/functions/echo/invoke`, { input: { delay_ms: 60_000 }, max_attempts: 3 })
        const id = (JSON.parse(r.text) as Operation).operation_id
        await until(() => gw.services.operations.getLive(id)?.op.status === 'running', 30_000, 'running', 10)
        const requeued = new Promise<number>((resolve) =>
          gw.services.hooks.on('operation:requeued', (op) => {
            if (op.operation_id === id) resolve(performance.now())
          }),
        )
        const t0 = performance.now()
        await child.kill('SIGKILL')
        detections.push((await requeued) - t0)
      } finally {
        await child.kill('SIGKILL')
        await gw.close()
      }
    }
    const worst = Math.max(...detections)
    rows.push({
      case: "baseline: the guide's polling (10 s interval × 3 failures)",
      'detect → re-queue ms': 30_000,
      'vs baseline': '1×',
      goal: '',
    })
    rows.push({
      case: 'host SIGKILL → operation re-queued (defaults: heartbeat 2 s, probe on connection close)',
      'detect → re-queue ms': `${detections.map((x) => Math.round(x)).join(' / ')}`,
      'vs baseline': `${Math.round(30_000 / worst)}× faster (worst)`,
      goal: `≤ 3,000 ms (${worst <= 3000 ? 'met' : 'not met'})`,
    })
    notes.push(
      'Dead host: 3 rounds; the host holds one running operation when it is SIGKILLed; time until the gateway emits operation:requeued. The killed process closes its keep-alive heartbeat connection, the gateway probes /health at once and a refused connection is proof of death.',
    )
  } finally {
    agent.destroy()
    await rm(root, { recursive: true, force: true })
  }
  return { title: 'Gateway: overhead, durable accept rate, dead-host detection', rows, notes }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const section = await run()
  console.table(section.rows)
  for (const n of section.notes ?? []) console.log(n)
  process.exit(0)
}
