// KTRDR against the peer a user would otherwise pick for the same job: BullMQ on a real
// redis-server. Every side runs as its own processes (gateway, host and its executors; redis-server
// and a BullMQ Worker), the client is this process; rounds alternate the sides and the figures are
// per-round ratios, reported as median [min–max].
//   1. warm no-op, c=1: gateway → host vs the same host called directly (and BullMQ add + wait);
//   2. warm no-op, c=16 throughput: the same three;
//   (1 and 2 also for the same no-op declaring concurrency 16: one shared executor, as BullMQ's worker;)
//   3. durable accepts (202 after commit / Queue.add): KTRDR_DB_SYNC=normal and full vs Redis AOF
//      appendfsync always and everysec, c=16 throughput and c=1 latency, beside a bare node:http
//      server answering 202 (the ceiling of any HTTP API on Node from this client).
// Run alone: node ./bin/run-ts.mjs bench/peers.bench.ts [rounds]
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import http from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BenchSection } from './_types.ts'
import { redisUnavailable, startRedis, type RedisServer } from './_redis.ts'
import type { DispatchRequest } from '../runtime/protocol/index.ts'
import { buildEcho, buildFunction, publish, until } from '../test/kit/index.ts'
import { createInvokeChannel, type InvokeChannel } from '../runtime/cli/index.ts'
import { freePort, REPO, spawnKtrdr, type KtrdrChild } from '../test/cluster/_cluster.ts'

const ROUNDS = Number(process.env.KTRDR_BENCH_ROUNDS ?? 3)
// Sequential calls per side and round: a p99 of 300 is the 3rd slowest call, and moved by more
// than the goal's margin between runs for every server; of 1,000 it is the 10th.
const CALLS = 1000
const SECONDS = 3
const C = 16

type Call = () => Promise<void>

/** Keep-alive JSON POSTs; one agent per target so no side borrows another's sockets. */
function poster(maxSockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets })
  const post = (url: string, body: unknown): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body))
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (c) => (text += c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  return { post, close: () => agent.destroy() }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}
const median = (xs: number[]) => pct(xs, 50)
const f = (x: number, digits = 2) => x.toFixed(digits)
/** "1.23 [1.01–1.40]": median of the rounds and their range. */
const spread = (xs: number[], digits = 2) => `${f(median(xs), digits)} [${f(Math.min(...xs), digits)}–${f(Math.max(...xs), digits)}]`

async function latencies(call: Call, n: number): Promise<{ p50: number; p99: number }> {
  const xs: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await call()
    xs.push(performance.now() - t)
  }
  return { p50: pct(xs, 50), p99: pct(xs, 99) }
}

async function throughput(call: Call, concurrency: number, seconds: number): Promise<number> {
  let done = 0
  const end = performance.now() + seconds * 1000
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await call()
        done++
      }
    }),
  )
  return done / ((performance.now() - t0) / 1000)
}

/** CPU seconds (user + system) of these processes and all their descendants, reaped ones included, from /proc; NaN elsewhere. */
function treeCpuSeconds(roots: number[]): number {
  if (!existsSync('/proc/self/stat')) return Number.NaN
  const stats = new Map<number, { ppid: number; cpu: number }>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // Fields after the command (which may hold spaces) start after the last ')'.
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
      // utime + stime, plus cutime + cstime: the CPU of children already reaped (an executor replaced
      // mid-phase) moves to its parent's and must not drop out of the sum.
      stats.set(Number(entry), { ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) })
    } catch {
      // exited meanwhile
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (roots.includes(p)) return true
      p = stats.get(p)?.ppid ?? 0
    }
    return false
  }
  let ticks = 0
  for (const [pid, st] of stats) if (inTree(pid)) ticks += st.cpu
  return ticks / 100 // USER_HZ is 100 on Linux
}

/** Runs `fn` and says how much CPU the server processes and this (client) process spent on it. */
async function withCpu<T>(servers: number[], fn: () => Promise<T>): Promise<{ value: T; serverCpu: number; clientCpu: number }> {
  const s0 = treeCpuSeconds(servers)
  const c0 = process.cpuUsage()
  const value = await fn()
  const c = process.cpuUsage(c0)
  return { value, serverCpu: treeCpuSeconds(servers) - s0, clientCpu: (c.user + c.system) / 1e6 }
}

async function startGateway(home: string, env: Record<string, string>): Promise<{ child: KtrdrChild; url: string }> {
  const port = await freePort()
  const child = spawnKtrdr(['gateway', '--port', String(port), '--db', join(home, 'gateway.db'), '--home', home], {
    KTRDR_API_TOKEN: '',
    KTRDR_CLUSTER_TOKEN: '',
    LOG_LEVEL: 'warn',
    ...env,
  })
  const url = `http://127.0.0.1:${port}`
  await until(async () => (await fetch(`${url}/health`)).ok, 120_000, `gateway on ${port}\n${child.output()}`, 100)
  return { child, url }
}

/** `sandboxed`: BullMQ's sandboxed processor, the no-op in a child process per job in flight (bench/_bullmq-worker.ts). */
async function startBullWorker(redis: RedisServer, queue: string, sandboxed = false): Promise<ChildProcess> {
  const child = fork(join(REPO, 'bin/run-ts.mjs'), [join(REPO, 'bench/_bullmq-worker.ts')], {
    env: { ...process.env, REDIS_PORT: String(redis.port), QUEUE: queue, CONCURRENCY: String(C), SANDBOXED: sandboxed ? '1' : '0' },
    // BullMQ's pool adds a listener per child to shared sockets and Node warns at the 11th: the
    // peer's own noise, not this bench's output.
    execArgv: [...process.execArgv, '--no-warnings'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve())
    child.once('exit', (code) => reject(new Error(`BullMQ worker exited (${code}) before it was ready`)))
  })
  return child
}

export default async function run(): Promise<BenchSection[]> {
  const root = await mkdtemp(join(tmpdir(), 'ktrdr-bench-peers-'))
  const children: KtrdrChild[] = []
  const closers: Array<() => unknown> = []
  const load0 = loadavg()
  try {
    const [{ archive, built }, sharedBuild] = await Promise.all([
      buildEcho(join(root, 'build')),
      buildFunction(join(REPO, 'bench/fixtures/echo-c16'), join(root, 'build-c16')),
    ])
    const redisSkip = redisUnavailable()

    // KTRDR: two gateways with a host each (call path: over the host channel, and over HTTP only),
    // two with none (every invocation queues: accepts).
    const callHome = join(root, 'call')
    const httpHome = join(root, 'call-http')
    // Heartbeats every hour on the call-path gateways: a heartbeat lists what the host is running, and
    // the gateway stops every operation it does not know, as it should; at the default 2 s each one
    // caught up to 16 direct calls in flight, and the direct baseline paid for the executors replaced.
    const quiet = { KTRDR_HEARTBEAT_INTERVAL: '3600' }
    const [gw, gwHttp, normal, full] = await Promise.all([
      startGateway(callHome, quiet),
      startGateway(httpHome, quiet),
      startGateway(join(root, 'normal'), { KTRDR_DB_SYNC: 'normal' }),
      startGateway(join(root, 'full'), { KTRDR_DB_SYNC: 'full' }),
    ])
    children.push(gw.child, gwHttp.child, normal.child, full.child)
    const [version] = await Promise.all([gw, gwHttp, normal, full].map((g) => publish(g.url, 'echo', archive)))
    const sharedVersion = await publish(gw.url, 'echo-c16', sharedBuild.archive)
    const startHost = async (gatewayUrl: string, home: string, channel: boolean) => {
      const port = await freePort()
      const child = spawnKtrdr(
        ['host', '--api', gatewayUrl, '--id', 'bench-host', '--port', String(port), '--home', home, '--no-gpu', '--slots', String(C)],
        {
          KTRDR_API_TOKEN: '',
          KTRDR_CLUSTER_TOKEN: '',
          LOG_LEVEL: 'warn',
          KTRDR_HOST_MAX_IDLE_EXECUTORS: String(C),
          // Warm rows: the 16 executors warmed up must outlive a round's c=1 phases, in which the
          // most recently used one serves every call and the others would reach the 60 s idle
          // timeout (a c=16 round then paid 15 cold starts: 127/s in one round of a run).
          KTRDR_HOST_EXECUTOR_IDLE_MS: '3600000',
          KTRDR_HOST_CHANNEL: channel ? '1' : '0',
        },
      )
      children.push(child)
      await until(
        async () => (await fetch(`${gatewayUrl}/api/v1/workers/bench-host`)).ok,
        120_000,
        `host registered\n${child.output()}`,
        100,
      )
      return { child, url: `http://127.0.0.1:${port}` }
    }
    const [host, hostHttp] = await Promise.all([startHost(gw.url, callHome, true), startHost(gwHttp.url, httpHome, false)])
    const hostUrl = host.url

    const ref = {
      name: 'echo',
      version: version!.version,
      sha256: built.sha256,
      bundle_key: (version as unknown as { bundle_key: string }).bundle_key,
      timeout_seconds: 60,
    }
    const sharedRef = {
      name: 'echo-c16',
      version: sharedVersion.version,
      sha256: sharedBuild.built.sha256,
      bundle_key: (sharedVersion as unknown as { bundle_key: string }).bundle_key,
      timeout_seconds: 60,
    }
    const direct = poster(C)
    const viaGw = poster(C)
    const viaGwHttp = poster(C)
    const accepts = { normal: poster(C), full: poster(C) }
    closers.push(direct.close, viaGw.close, viaGwHttp.close, accepts.normal.close, accepts.full.close)
    let n = 0
    const directCall =
      (fn: typeof ref): Call =>
      async () => {
        const req: DispatchRequest = {
          operation_id: `op_bench_direct_${++n}`,
          attempt: 1,
          function: fn,
          input: {},
          deadline_ms: Date.now() + 60_000,
        }
        const r = await direct.post(`${hostUrl}/invocations?wait=1`, req)
        if (r.status !== 200) throw new Error(`direct call failed: ${r.status} ${r.text}`)
      }
    const gatewayCall =
      (name: string): Call =>
      async () => {
        const r = await viaGw.post(`${gw.url}/api/v1/functions/${name}/invoke`, { input: {}, wait_seconds: 30 })
        if (r.status !== 200 || !r.text.includes('"status":"completed"')) throw new Error(`gateway call failed: ${r.status} ${r.text}`)
      }
    const calls: Record<string, Call> = {
      direct: directCall(ref),
      gateway: gatewayCall('echo'),
      'direct shared': directCall(sharedRef),
      'gateway shared': gatewayCall('echo-c16'),
      'gateway http': async () => {
        const r = await viaGwHttp.post(`${gwHttp.url}/api/v1/functions/echo/invoke`, { input: {}, wait_seconds: 30 })
        if (r.status !== 200 || !r.text.includes('"status":"completed"')) throw new Error(`gateway call failed: ${r.status} ${r.text}`)
      },
      'accept normal': async () => {
        const r = await accepts.normal.post(`${normal.url}/api/v1/functions/echo/invoke`, { input: {} })
        if (r.status !== 202) throw new Error(`accept failed: ${r.status} ${r.text}`)
      },
      'accept full': async () => {
        const r = await accepts.full.post(`${full.url}/api/v1/functions/echo/invoke`, { input: {} })
        if (r.status !== 202) throw new Error(`accept failed: ${r.status} ${r.text}`)
      },
    }
    // The same calls over the client channel (runtime/cli createInvokeChannel): one WebSocket per
    // side, as BullMQ's Queue keeps one Redis connection, instead of 16 keep-alive HTTP sockets.
    const channelOf = (url: string): InvokeChannel => {
      const ch = createInvokeChannel({ url, token: null }, {})
      closers.push(() => ch.close())
      return ch
    }
    const channelCall =
      (ch: InvokeChannel, name: string): Call =>
      async () => {
        const r = await ch.invoke(name, { input: {}, wait_seconds: 30 })
        if (r.statusCode !== 200 || r.operation.status !== 'completed')
          throw new Error(`channel call failed: ${r.statusCode} ${r.operation.status}`)
      }
    const channelAccept =
      (ch: InvokeChannel): Call =>
      async () => {
        const r = await ch.invoke('echo', { input: {} })
        if (r.statusCode !== 202) throw new Error(`channel accept failed: ${r.statusCode}`)
      }
    calls['gateway channel'] = channelCall(channelOf(gw.url), 'echo')
    calls['gateway shared channel'] = channelCall(channelOf(gw.url), 'echo-c16')
    calls['accept normal channel'] = channelAccept(channelOf(normal.url))
    calls['accept full channel'] = channelAccept(channelOf(full.url))

    // The ceiling of any HTTP API on Node here: a bare node:http server answering 202 (bench/_bare-http.ts).
    const bare = fork(join(REPO, 'bin/run-ts.mjs'), [join(REPO, 'bench/_bare-http.ts')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const barePort = await new Promise<number>((resolve, reject) => {
      bare.once('message', (port) => resolve(Number(port)))
      bare.once('exit', (code) => reject(new Error(`bare HTTP server exited (${code}) before it listened`)))
    })
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          bare.once('exit', () => resolve())
          bare.disconnect()
        }),
    )
    const bareClient = poster(C)
    closers.push(bareClient.close)
    calls['bare http'] = async () => {
      const r = await bareClient.post(`http://127.0.0.1:${barePort}/api/v1/functions/echo/invoke`, { input: {} })
      if (r.status !== 202) throw new Error(`bare server answered ${r.status}`)
    }

    // BullMQ: a Worker process on a Redis with everysec (the no-op rows), Queue.add on that one and
    // on a Redis with appendfsync always (accepts; nothing consumes those queues).
    const peer: { version?: string; bullmq?: string } = {}
    const peerPids: Record<string, number[]> = {}
    if (!redisSkip) {
      const { Queue, QueueEvents } = await import('bullmq')
      peer.bullmq = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version
      const everysec = await startRedis('everysec')
      closers.push(everysec.stop)
      const always = await startRedis('always')
      closers.push(always.stop)
      peer.version = everysec.version
      const worker = await startBullWorker(everysec, 'noop')
      const sandboxed = await startBullWorker(everysec, 'noop-sandboxed', true)
      for (const w of [worker, sandboxed])
        closers.push(
          () =>
            new Promise<void>((resolve) => {
              w.once('exit', () => resolve())
              w.disconnect()
            }),
        )
      const conn = (r: RedisServer) => ({ host: '127.0.0.1', port: r.port })
      const noop = new Queue('noop', { connection: conn(everysec) })
      const events = new QueueEvents('noop', { connection: conn(everysec) })
      await events.waitUntilReady()
      const noopSandboxed = new Queue('noop-sandboxed', { connection: conn(everysec) })
      const eventsSandboxed = new QueueEvents('noop-sandboxed', { connection: conn(everysec) })
      await eventsSandboxed.waitUntilReady()
      const addEverysec = new Queue('accepts', { connection: conn(everysec) })
      const addAlways = new Queue('accepts', { connection: conn(always) })
      // Each pending add holds a 'closing' listener: 16 at once is by design here.
      for (const q of [noop, noopSandboxed, addEverysec, addAlways]) q.setMaxListeners(4 * C)
      for (const e of [events, eventsSandboxed]) e.setMaxListeners(4 * C)
      closers.push(() =>
        Promise.all([noop.close(), events.close(), noopSandboxed.close(), eventsSandboxed.close(), addEverysec.close(), addAlways.close()]),
      )
      peerPids.bullmq = [everysec.pid, worker.pid!]
      peerPids['bullmq sandboxed'] = [everysec.pid, sandboxed.pid!]
      peerPids['bullmq add always'] = [always.pid]
      peerPids['bullmq add everysec'] = [everysec.pid]
      calls.bullmq = async () => {
        const job = await noop.add('noop', {})
        await job.waitUntilFinished(events, 30_000)
      }
      calls['bullmq sandboxed'] = async () => {
        const job = await noopSandboxed.add('noop', {})
        await job.waitUntilFinished(eventsSandboxed, 30_000)
      }
      calls['bullmq add always'] = async () => {
        await addAlways.add('noop', {})
      }
      calls['bullmq add everysec'] = async () => {
        await addEverysec.add('noop', {})
      }
    }
    const has = (k: string) => k in calls
    // The processes that serve each side (their forked executors included, through the tree).
    const hostPid = host.child.proc.pid!
    const servers: Record<string, number[]> = {
      direct: [hostPid],
      gateway: [gw.child.proc.pid!, hostPid],
      'direct shared': [hostPid],
      'gateway shared': [gw.child.proc.pid!, hostPid],
      'gateway channel': [gw.child.proc.pid!, hostPid],
      'gateway shared channel': [gw.child.proc.pid!, hostPid],
      'accept normal channel': [normal.child.proc.pid!],
      'accept full channel': [full.child.proc.pid!],
      'gateway http': [gwHttp.child.proc.pid!, hostHttp.child.proc.pid!],
      'accept normal': [normal.child.proc.pid!],
      'accept full': [full.child.proc.pid!],
      'bare http': [bare.pid!],
      ...peerPids,
    }

    // Warm-up: every executor slot of the host and every connection of every client.
    for (const k of Object.keys(calls)) await throughput(calls[k]!, C, 1.5)
    for (const k of Object.keys(calls)) for (let i = 0; i < 30; i++) await calls[k]!()

    const lat: Record<string, Array<{ p50: number; p99: number }>> = {}
    const tput: Record<string, number[]> = {}
    /** CPU µs per operation during the c=16 phases: servers (all their processes) and the client. */
    const cpu: Record<string, Array<{ server: number; client: number }>> = {}
    const measured = async (k: string) => {
      const { value, serverCpu, clientCpu } = await withCpu(servers[k]!, () => throughput(calls[k]!, C, SECONDS))
      const ops = value * SECONDS
      ;(cpu[k] ??= []).push({ server: (serverCpu / ops) * 1e6, client: (clientCpu / ops) * 1e6 })
      return value
    }
    const callPath = [
      'direct',
      'gateway',
      'gateway channel',
      'gateway http',
      'direct shared',
      'gateway shared',
      'gateway shared channel',
      'bullmq',
      'bullmq sandboxed',
    ].filter(has)
    const acceptCases = [
      'accept normal',
      'accept full',
      'accept normal channel',
      'accept full channel',
      'bullmq add always',
      'bullmq add everysec',
      'bare http',
    ].filter(has)
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order too, so no side always runs right after the same neighbour.
      const order = (xs: string[]) => (round % 2 ? [...xs].reverse() : xs)
      for (const k of order(callPath)) (lat[k] ??= []).push(await latencies(calls[k]!, CALLS))
      for (const k of order(callPath)) (tput[k] ??= []).push(await measured(k))
      for (const k of order(acceptCases)) (tput[k] ??= []).push(await measured(k))
      for (const k of order(acceptCases)) (lat[k] ??= []).push(await latencies(calls[k]!, CALLS))
    }
    const load1 = loadavg()

    const perRound = (a: string, b: string, fn: (x: number, y: number) => number, src: Record<string, any[]>, key?: 'p50' | 'p99') =>
      src[a]!.map((x, i) => fn(key ? x[key] : x, key ? src[b]![i][key] : src[b]![i]))
    const sub = (x: number, y: number) => x - y
    const div = (x: number, y: number) => x / y
    const machine = `load average ${load0.map((x) => f(x, 1)).join('/')} before, ${load1.map((x) => f(x, 1)).join('/')} after (1/5/15 min) on the 2 shared cores`
    const skipped = redisSkip ? [`BullMQ rows skipped: ${redisSkip}.`] : []
    const peerName = peer.version ? `BullMQ ${peer.bullmq} + redis-server ${peer.version}` : 'BullMQ'

    // 1. c=1 latency.
    const addedP50 = perRound('gateway', 'direct', sub, lat, 'p50')
    const addedP99 = perRound('gateway', 'direct', sub, lat, 'p99')
    const latRow = (k: string, label: string) => ({
      case: label,
      'p50 ms': spread(lat[k]!.map((x) => x.p50)),
      'p99 ms': spread(lat[k]!.map((x) => x.p99)),
    })
    const s1: BenchSection = {
      title: 'Peers: warm no-op call path, c=1 (gateway → host vs host direct vs BullMQ)',
      rows: [
        { ...latRow('direct', 'host called directly (POST /invocations?wait=1)'), 'added p50 ms': '', 'added p99 ms': '', goal: '' },
        {
          ...latRow('gateway', 'through the gateway (invoke, wait_seconds)'),
          'added p50 ms': spread(addedP50),
          'added p99 ms': spread(addedP99),
          goal: `added p50 ≤ 1 ms (${median(addedP50) <= 1 ? 'met' : 'not met'}), p99 ≤ 5 ms (${median(addedP99) <= 5 ? 'met' : 'not met'})`,
        },
        {
          ...latRow('gateway channel', 'the same, the client over the client channel (one WebSocket to the gateway)'),
          'added p50 ms': spread(perRound('gateway channel', 'direct', sub, lat, 'p50')),
          'added p99 ms': spread(perRound('gateway channel', 'direct', sub, lat, 'p99')),
          goal: '',
        },
        {
          ...latRow('gateway http', 'the same over HTTP only (host with KTRDR_HOST_CHANNEL=0)'),
          'added p50 ms': spread(perRound('gateway http', 'direct', sub, lat, 'p50')),
          'added p99 ms': spread(perRound('gateway http', 'direct', sub, lat, 'p99')),
          goal: '',
        },
        {
          ...latRow('direct shared', 'host called directly, the no-op declaring concurrency 16'),
          'added p50 ms': '',
          'added p99 ms': '',
          goal: '',
        },
        {
          ...latRow('gateway shared', 'through the gateway, the no-op declaring concurrency 16'),
          'added p50 ms': spread(perRound('gateway shared', 'direct shared', sub, lat, 'p50')),
          'added p99 ms': spread(perRound('gateway shared', 'direct shared', sub, lat, 'p99')),
          goal: '',
        },
        {
          ...latRow('gateway shared channel', '… the client over the client channel'),
          'added p50 ms': spread(perRound('gateway shared channel', 'direct shared', sub, lat, 'p50')),
          'added p99 ms': spread(perRound('gateway shared channel', 'direct shared', sub, lat, 'p99')),
          goal: '',
        },
        ...(has('bullmq')
          ? [
              { ...latRow('bullmq', `${peerName}: Queue.add + job.waitUntilFinished`), 'added p50 ms': '', 'added p99 ms': '', goal: '' },
              {
                ...latRow('bullmq sandboxed', '… a sandboxed processor (the no-op in a child process of its pool per job)'),
                'added p50 ms': '',
                'added p99 ms': '',
                goal: '',
              },
            ]
          : []),
      ],
      notes: [
        `${ROUNDS} rounds of ${CALLS} sequential calls per side, sides alternating; median [min–max] over the rounds; added = gateway − direct per round. ${machine}.`,
        'KTRDR: `ktrdr gateway` (SQLite, KTRDR_DB_SYNC=normal) and `ktrdr host` (16 slots) as child processes; the no-op is the echo bundle in a forked executor, each invocation in an executor of its own (16 warm ones at c=16); "declaring concurrency 16" is the same echo as bench/fixtures/echo-c16, whose invocations share one executor (docs/architecture.md *Shared executors*), "added" against that function called directly. The HTTP-only row is a second, identical gateway and host whose host does not open its channel; "added" compares both with the first host called directly. The client-channel rows make the same calls through the same gateway with runtime/cli createInvokeChannel: one WebSocket (`GET /api/v1/channel`, docs/architecture.md *Client channel*) instead of keep-alive HTTP requests. BullMQ: a Worker process (concurrency 16, processor returns the job data) on redis-server with AOF everysec; "sandboxed" is a second Worker whose processor is the same no-op in a file (bench/_bullmq-noop.mjs) that BullMQ runs in child processes of its pool, each job in flight in a child of its own (16 at c=16), the isolation KTRDR gives each invocation by default.',
        ...skipped,
      ],
    }

    // 2. c=16 throughput.
    const cpuCols = (k: string) => ({
      'server CPU µs/op': spread(
        cpu[k]!.map((x) => x.server),
        0,
      ),
      'client CPU µs/op': spread(
        cpu[k]!.map((x) => x.client),
        0,
      ),
    })
    const vsDirect = perRound('gateway', 'direct', div, tput)
    const vsBull = has('bullmq') ? perRound('gateway', 'bullmq', div, tput) : []
    const sharedVsDirect = perRound('gateway shared', 'direct shared', div, tput)
    const sharedVsBull = has('bullmq') ? perRound('gateway shared', 'bullmq', div, tput) : []
    const chVsDirect = perRound('gateway channel', 'direct', div, tput)
    const chVsBull = has('bullmq') ? perRound('gateway channel', 'bullmq', div, tput) : []
    const sharedChVsDirect = perRound('gateway shared channel', 'direct shared', div, tput)
    const sharedChVsBull = has('bullmq') ? perRound('gateway shared channel', 'bullmq', div, tput) : []
    // Like for like in isolation: KTRDR's default runs each invocation in an executor process of its
    // own, as BullMQ's sandboxed processor runs each job in a child process of its own.
    const chVsSandboxed = has('bullmq sandboxed') ? perRound('gateway channel', 'bullmq sandboxed', div, tput) : []
    const vsSandboxed = has('bullmq sandboxed') ? perRound('gateway', 'bullmq sandboxed', div, tput) : []
    const vsGoals = (d: number[], b: number[]) =>
      `${spread(d)}× direct, ${median(d) >= 0.8 ? 'met' : 'not met'}${has('bullmq') ? `; ${spread(b)}× BullMQ, ${median(b) >= 1 ? 'met' : 'not met'}` : ''}`
    const s2: BenchSection = {
      title: 'Peers: warm no-op throughput, c=16',
      rows: [
        {
          case: 'host called directly',
          'req/s': spread(tput.direct!, 0),
          ...cpuCols('direct'),
          'gateway ÷ this': spread(vsDirect),
          goal: '≥ 0.8',
        },
        ...(has('bullmq')
          ? [
              {
                case: `${peerName}: Queue.add + waitUntilFinished`,
                'req/s': spread(tput.bullmq!, 0),
                ...cpuCols('bullmq'),
                'gateway ÷ this': spread(vsBull),
                goal: '≥ 1.0',
              },
              {
                case: '… a sandboxed processor (the no-op in a child process of its pool per job, as KTRDR runs each invocation)',
                'req/s': spread(tput['bullmq sandboxed']!, 0),
                ...cpuCols('bullmq sandboxed'),
                'gateway ÷ this': spread(vsSandboxed),
                goal: '',
              },
            ]
          : []),
        {
          case: 'through the gateway, HTTP only (KTRDR_HOST_CHANNEL=0)',
          'req/s': spread(tput['gateway http']!, 0),
          ...cpuCols('gateway http'),
          'gateway ÷ this': spread(perRound('gateway', 'gateway http', div, tput)),
          goal: '',
        },
        {
          case: 'through the gateway',
          'req/s': spread(tput.gateway!, 0),
          ...cpuCols('gateway'),
          'gateway ÷ this': '',
          goal: `${median(vsDirect) >= 0.8 ? 'met' : 'not met'} vs direct${has('bullmq') ? `, ${median(vsBull) >= 1 ? 'met' : 'not met'} vs BullMQ` : ''}`,
        },
        {
          case: 'through the gateway, the client over the client channel',
          'req/s': spread(tput['gateway channel']!, 0),
          ...cpuCols('gateway channel'),
          'gateway ÷ this': '',
          goal: `${vsGoals(chVsDirect, chVsBull)}${has('bullmq sandboxed') ? `; ${spread(chVsSandboxed)}× BullMQ sandboxed` : ''}`,
        },
        {
          case: 'host called directly, the no-op declaring concurrency 16 (one shared executor)',
          'req/s': spread(tput['direct shared']!, 0),
          ...cpuCols('direct shared'),
          'gateway ÷ this': spread(sharedVsDirect),
          goal: '≥ 0.8',
        },
        {
          case: 'through the gateway, the no-op declaring concurrency 16',
          'req/s': spread(tput['gateway shared']!, 0),
          ...cpuCols('gateway shared'),
          'gateway ÷ this': '',
          goal: `${median(sharedVsDirect) >= 0.8 ? 'met' : 'not met'} vs direct${has('bullmq') ? `; ${spread(sharedVsBull)}× BullMQ, ${median(sharedVsBull) >= 1 ? 'met' : 'not met'}` : ''}`,
        },
        {
          case: '… the client over the client channel',
          'req/s': spread(tput['gateway shared channel']!, 0),
          ...cpuCols('gateway shared channel'),
          'gateway ÷ this': '',
          goal: vsGoals(sharedChVsDirect, sharedChVsBull),
        },
      ],
      notes: [
        `${ROUNDS} rounds of ${SECONDS} s per side, ${C} concurrent callers in this process (over ${C} keep-alive sockets, or over one WebSocket in the client-channel rows), sides alternating. ${machine}.`,
        'CPU µs/op: user + system time per completed call during the c=16 phase, of the serving processes with their children (gateway, host and its executors; redis-server and the BullMQ worker with its sandbox children) and of this client process. On a loaded machine it moves less than req/s, which also depends on how much CPU the scheduler hands each side.',
        ...skipped,
      ],
    }

    // 3. Durable accepts.
    const base = has('bullmq add always') ? 'bullmq add always' : null
    const acceptRow = (k: string, label: string, fsyncs: string) => ({
      case: label,
      'fsync before the answer': fsyncs,
      'c=16 per s': spread(tput[k]!, 0),
      '÷ BullMQ always': base ? spread(perRound(k, base, div, tput)) : '',
      ...cpuCols(k),
      'c=1 p50 ms': spread(lat[k]!.map((x) => x.p50)),
      'c=1 p99 ms': spread(lat[k]!.map((x) => x.p99)),
    })
    const vsAlways = (k: string) => (base ? median(perRound(k, base, div, tput)) : NaN)
    const verdict = (x: number) => (Number.isNaN(x) ? 'no peer' : `${f(x)}×, ${x >= 1 ? 'met' : 'not met'}`)
    const p99Verdict = (k: string) =>
      `${f(median(lat[k]!.map((x) => x.p99)))} ms, ${median(lat[k]!.map((x) => x.p99)) <= 2 ? 'met' : 'not met'}`
    const s3: BenchSection = {
      title: 'Peers: durable accepts (202 committed) vs BullMQ Queue.add',
      rows: [
        acceptRow('accept normal', 'KTRDR, KTRDR_DB_SYNC=normal (default)', 'no: WAL written, fsync at checkpoints'),
        acceptRow('accept full', 'KTRDR, KTRDR_DB_SYNC=full', 'yes: WAL fsync per group commit'),
        acceptRow('accept normal channel', 'KTRDR over the client channel, KTRDR_DB_SYNC=normal', 'no: WAL written, fsync at checkpoints'),
        acceptRow('accept full channel', 'KTRDR over the client channel, KTRDR_DB_SYNC=full', 'yes: WAL fsync per group commit'),
        ...(base
          ? [
              acceptRow('bullmq add always', `${peerName}, AOF appendfsync always`, 'yes: AOF fsync per event-loop batch'),
              acceptRow('bullmq add everysec', `${peerName}, AOF appendfsync everysec`, 'no: AOF written, fsync each second'),
            ]
          : []),
        acceptRow('bare http', 'ceiling: a bare node:http server that reads the body and answers 202 (no work)', 'nothing stored'),
      ],
      notes: [
        `Goal: KTRDR ≥ 1.0× BullMQ with appendfsync always at c=16, p99 ≤ 2 ms at c=1. Over HTTP: ${verdict(vsAlways('accept normal'))} with the default normal, p99 ${p99Verdict('accept normal')}. Over the client channel: ${verdict(vsAlways('accept normal channel'))} with normal (p99 ${p99Verdict('accept normal channel')}), ${verdict(vsAlways('accept full channel'))} with full, which fsyncs as Redis does.`,
        'Client channel: one WebSocket from this process to the gateway (runtime/cli createInvokeChannel, `GET /api/v1/channel`) carrying the invokes of one event-loop turn as one message, as the BullMQ rows keep one Redis connection; each answer is the invoke route’s 202 after the same commit.',
        `Ceiling: the bare node:http row is what any HTTP API on Node reaches from this client on these cores${base ? ` (${spread(perRound('bare http', base, div, tput))}× BullMQ always)` : ''}; KTRDR's accept over HTTP is ${spread(perRound('accept normal', 'bare http', div, tput))}× of it. That ceiling is HTTP's: the client channel (${spread(perRound('accept normal channel', 'bare http', div, tput))}× the bare server here) carries a turn's invokes in one WebSocket message instead of one request each.`,
        'Accepts: no host registered and no BullMQ worker on these queues, so each accepted invocation / job stays queued. Both "no" rows survive a SIGKILL of the server process (the data is in the OS page cache) but not a power loss; both "yes" rows survive both.',
        `${ROUNDS} rounds: ${SECONDS} s at c=${C}, then ${CALLS} sequential calls, sides alternating. ${machine}.`,
        ...skipped,
      ],
    }
    return [s1, s2, s3]
  } finally {
    // Last opened, first closed: queues before the worker, the worker before its Redis.
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => {})
    await Promise.all(children.map((c) => c.kill('SIGTERM')))
    await rm(root, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const section of await run()) {
    console.log(`\n## ${section.title}`)
    console.table(section.rows)
    for (const n of section.notes ?? []) console.log(`- ${n}`)
  }
  process.exit(0)
}
