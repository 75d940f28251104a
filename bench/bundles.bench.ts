// Function bundles and hosts: cold start of a cached version, cold start from storage per real
// bundle, and deploy → every host of a 3-host local cluster ready, against the goals in BENCHMARKS.md.
import { fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createKtrdrStorage } from '../storage/index.ts'
import { packArchive, sha256Hex, unpackArchive } from '../runtime/protocol/index.ts'
import { buildFunctionBundle, type BuiltBundle } from '../runtime/bundler/index.ts'
import { deployFunction } from '../runtime/cli/index.ts'
import { createGateway } from '../runtime/gateway/index.ts'
import { createHost, type HostConfig } from '../runtime/host/index.ts'
import type { DispatchRequest, FunctionRef } from '../runtime/protocol/index.ts'
import type { BenchSection } from './_types.ts'

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}
const r1 = (x: number) => Math.round(x * 10) / 10
let seq = 0

async function nodeForkBaseline(dir: string, n: number): Promise<number[]> {
  const script = join(dir, 'ready.mjs')
  await writeFile(script, "process.send({ type: 'ready' }); process.on('disconnect', () => process.exit(0))\n")
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    const child = fork(script, [], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      execArgv: [],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    await new Promise((resolve) => child.once('message', resolve))
    times.push(performance.now() - t)
    child.kill()
    await new Promise((resolve) => child.once('exit', resolve))
  }
  return times
}

function request(ref: FunctionRef, input: unknown): DispatchRequest {
  return {
    operation_id: `op_bench_${Date.now()}_${(++seq).toString(16).padStart(8, '0')}`,
    attempt: 1,
    function: ref,
    input,
    deadline_ms: Date.now() + 120_000,
  }
}
async function invokeDirect(url: string, body: DispatchRequest) {
  const res = await fetch(`${url}/invocations?wait=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return (await res.json()) as { status: string; error?: { code?: string }; timings: Record<string, number> }
}

export default async function run(): Promise<BenchSection[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ktrdr-bench-bundles-'))
  const storageRoot = join(dir, 'store')
  const storage = await createKtrdrStorage({ root: storageRoot })
  const hostBase: HostConfig = {
    apiUrl: null,
    port: 0,
    storage: { root: storageRoot },
    detectGpu: false,
    forwardExecutorOutput: false,
    logLevel: 'error',
    slots: 1,
  }
  try {
    // Build every real function present (build time reported on its own).
    const built: BuiltBundle[] = []
    const buildNotes: string[] = []
    // KTRDR_BENCH_BUNDLES=echo limits the bundles built (quick runs); default: every real function.
    const names = process.env.KTRDR_BENCH_BUNDLES?.split(',') ?? ['echo', 'ib-fetch', 'backtest', 'train']
    for (const name of new Set(['echo', ...names])) {
      if (!existsSync(join(import.meta.dirname, '..', 'functions', name, 'index.ts'))) continue
      try {
        built.push(await buildFunctionBundle(name, { outDir: join(dir, 'build'), sourceCommit: null }))
      } catch (error) {
        buildNotes.push(`${name} did not build: ${(error as Error).message.slice(0, 200)}`)
      }
    }
    const refs = new Map<string, FunctionRef>()
    for (const b of built) {
      const key = `${b.name}/${b.sha256}.tgz`
      await storage.bundles.setItemRaw(key, new Uint8Array(await readFile(b.archivePath)))
      refs.set(b.name, { name: b.name, version: 1, sha256: b.sha256, bundle_key: key, timeout_seconds: 120 })
    }
    const echo = refs.get('echo')!

    // 1. Cold start of a cached version: bundle unpacked, no warm executor (maxIdle 0) → spawn to first result.
    const n = 30
    const baseline = await nodeForkBaseline(dir, n)
    async function coldStarts(spareExecutors: number): Promise<number[]> {
      const host = await createHost({
        ...hostBase,
        workerId: `bench-cold-${spareExecutors}`,
        cacheDir: join(dir, `cache-cold-${spareExecutors}`),
        maxIdleExecutors: 0,
        spareExecutors,
      })
      await invokeDirect(host.url, request(echo, {})) // fetch + unpack once
      const times: number[] = []
      for (let i = 0; i < n; i++) {
        await new Promise((r) => setTimeout(r, 150)) // let the host replace the spare it used, as between real invocations
        const t = performance.now()
        await invokeDirect(host.url, request(echo, {}))
        times.push(performance.now() - t)
      }
      await host.close()
      return times
    }
    const cold = await coldStarts(1)
    const coldNoSpare = await coldStarts(0)
    const warmHost = await createHost({ ...hostBase, workerId: 'bench-warm', cacheDir: join(dir, 'cache-warm') })
    await invokeDirect(warmHost.url, request(echo, {}))
    const warm: number[] = []
    for (let i = 0; i < n * 3; i++) {
      const t = performance.now()
      await invokeDirect(warmHost.url, request(echo, {}))
      warm.push(performance.now() - t)
    }
    await warmHost.close()
    const baseP50 = pct(baseline, 50)
    const coldSection: BenchSection = {
      title: 'Function host: cold start of a cached version (spawn → first result)',
      rows: [
        {
          case: 'node fork → IPC ready (baseline, empty script)',
          n,
          'p50 ms': r1(baseP50),
          'p95 ms': r1(pct(baseline, 95)),
          'p50 vs baseline': 1,
          goal: '',
        },
        {
          case: 'echo, bundle cached, new executor from a spare process (default)',
          n,
          'p50 ms': r1(pct(cold, 50)),
          'p95 ms': r1(pct(cold, 95)),
          'p50 vs baseline': r1(pct(cold, 50) / baseP50),
          goal: 'p95 ≤ 150 ms',
        },
        {
          case: 'echo, bundle cached, new executor forked from scratch (no spare)',
          n,
          'p50 ms': r1(pct(coldNoSpare, 50)),
          'p95 ms': r1(pct(coldNoSpare, 95)),
          'p50 vs baseline': r1(pct(coldNoSpare, 50) / baseP50),
          goal: '',
        },
        {
          case: 'echo, warm executor',
          n: n * 3,
          'p50 ms': r1(pct(warm, 50)),
          'p95 ms': r1(pct(warm, 95)),
          'p50 vs baseline': r1(pct(warm, 50) / baseP50),
          goal: '',
        },
      ],
      notes: [
        'Measured as HTTP POST /invocations?wait=1 on the host (loopback), so every row includes one local HTTP round trip. With maxIdleExecutors 0 every invocation needs a new executor.',
        'A host keeps one spare Node process started (KTRDR_HOST_SPARE_EXECUTORS, default 1) that imports the bundle when needed, taking Node start-up off the cold start, like pre-warmed pools.',
        `Cold p95 ${pct(cold, 95) <= 150 ? 'meets' : 'misses'} the 150 ms goal (Fission pre-warmed pools: 77–145 ms; Lambda Node: 250 ms+). The floor is Node's own start-up (baseline row).`,
      ],
    }

    // 2. Cold start from storage for each real bundle: fresh cache → fetch, verify sha256, unpack, spawn, first answer.
    const storageRows: Array<Record<string, string | number>> = []
    for (const b of built) {
      const ref = refs.get(b.name)!
      const unpacked = unpackArchive(new Uint8Array(await readFile(b.archivePath))).reduce((s, f) => s + f.data.byteLength, 0)
      const total: number[] = [],
        fetchUnpack: number[] = [],
        spawn: number[] = []
      let answer = ''
      for (let i = 0; i < 5; i++) {
        const host = await createHost({
          ...hostBase,
          workerId: `bench-storage-${b.name}-${i}`,
          cacheDir: join(dir, `cache-${b.name}-${i}`),
          executorMemoryMb: 2048,
        })
        const t = performance.now()
        // echo runs; the trading functions answer input validation (first result without their workload).
        const out = await invokeDirect(host.url, request(ref, b.name === 'echo' ? {} : { __bench: 'no input' }))
        total.push(performance.now() - t)
        fetchUnpack.push(out.timings.bundle_ready! - out.timings.accepted!)
        spawn.push(out.timings.executor_ready! - out.timings.bundle_ready!)
        answer = out.status === 'completed' ? 'completed' : `${out.status} (${out.error?.code})`
        await host.close()
      }
      storageRows.push({
        function: b.name,
        'archive KB': r1(b.size / 1024),
        'unpacked KB': r1(unpacked / 1024),
        'build s': r1(b.buildMs / 1000),
        'fetch+verify+unpack p50 ms': r1(pct(fetchUnpack, 50)),
        'executor start p50 ms': r1(pct(spawn, 50)),
        'first result p50 ms': r1(pct(total, 50)),
        'first result max ms': r1(Math.max(...total)),
        'first answer': answer,
      })
    }
    const storageSection: BenchSection = {
      title: 'Function host: cold start with the bundle fetched from storage (per real bundle)',
      rows: storageRows,
      notes: [
        'Each run starts a host with an empty cache; bundles come from the fs `bundles` mount. 5 runs per bundle.',
        'The trading functions are sent an invalid input, so "first result" is their executor loading and validating, not their workload.',
        ...buildNotes,
      ],
    }

    // 3. Deploy → all 3 hosts ready (bundle unpacked and an executor pre-warmed on each).
    const gateway = await createGateway({
      port: 0,
      quiet: true,
      dbPath: join(dir, 'gw.db'),
      storage: { root: storageRoot },
      apiToken: null,
      clusterToken: null,
    })
    const hosts = await Promise.all(
      [1, 2, 3].map((i) =>
        createHost({
          ...hostBase,
          apiUrl: gateway.url,
          workerId: `bench-cluster-${i}`,
          cacheDir: join(dir, `cache-cluster-${i}`),
          heartbeatIntervalMs: 500,
          register: { initialDelayMs: 50, maxDelayMs: 500 },
        }),
      ),
    )
    await Promise.all(hosts.map((h) => h.registered))
    const echoFiles = unpackArchive(new Uint8Array(await readFile(built.find((b) => b.name === 'echo')!.archivePath)))
    const deployMs: number[] = [],
      unpackedMs: number[] = [],
      firstInvoke: number[] = [],
      firstInCluster: number[] = []
    for (let i = 0; i < 8; i++) {
      // Same code, one extra file: a new sha256, i.e. a new version to roll out.
      const archive = packArchive([...echoFiles, { name: 'server/.variant', data: new TextEncoder().encode(`${Date.now()}-${i}`) }])
      const sha = sha256Hex(archive)
      const t = performance.now()
      const published = await deployFunction('echo', { gateway: gateway.url, token: null, archive })
      if (!published.created) throw new Error(`deploy failed: echo@${published.version} was already published`)
      let unpackedAt = 0
      for (;;) {
        if (!unpackedAt && hosts.every((h) => h.warmBundles().includes(sha))) unpackedAt = performance.now()
        if (hosts.every((h) => h.executors().some((e) => e.sha256 === sha && e.ready))) break
        if (performance.now() - t > 30_000) throw new Error('hosts did not become ready within 30 s')
        await new Promise((r) => setTimeout(r, 2))
      }
      deployMs.push(performance.now() - t)
      unpackedMs.push((unpackedAt || performance.now()) - t)
      const t2 = performance.now()
      const inv = await fetch(`${gateway.url}/api/v1/functions/echo/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: {}, wait_seconds: 30 }),
      })
      const op = (await inv.json()) as { timings: { queued_at: string; finished_at: string } }
      firstInvoke.push(performance.now() - t2)
      firstInCluster.push(Date.parse(op.timings.finished_at) - Date.parse(op.timings.queued_at))
    }
    await Promise.all(hosts.map((h) => h.close()))
    await gateway.close()
    const echoBuild = built.find((b) => b.name === 'echo')!
    const deploySection: BenchSection = {
      title: 'Deploy → every host of a 3-host local cluster ready',
      rows: [
        { step: 'build echo (ktrdr fn build, separate)', n: 1, 'p50 ms': echoBuild.buildMs, 'max ms': echoBuild.buildMs, goal: '' },
        {
          step: 'upload → bundle unpacked on all 3 hosts',
          n: deployMs.length,
          'p50 ms': r1(pct(unpackedMs, 50)),
          'max ms': r1(Math.max(...unpackedMs)),
          goal: '',
        },
        {
          step: 'upload → executor pre-warmed on all 3 hosts',
          n: deployMs.length,
          'p50 ms': r1(pct(deployMs, 50)),
          'max ms': r1(Math.max(...deployMs)),
          goal: '≤ 2000 ms',
        },
        {
          step: 'first invocation after the deploy (client → gateway → host → client)',
          n: firstInvoke.length,
          'p50 ms': r1(pct(firstInvoke, 50)),
          'max ms': r1(Math.max(...firstInvoke)),
          goal: '',
        },
        {
          step: '… of which queued → finished (dispatch + warm executor run)',
          n: firstInCluster.length,
          'p50 ms': r1(pct(firstInCluster, 50)),
          'max ms': r1(Math.max(...firstInCluster)),
          goal: '',
        },
      ],
      notes: [
        'The rest of the first invocation is the gateway before queueing (resolving the version, compiling its input JSON Schema on first use).',
        "Gateway and 3 hosts in one process on this machine (all share its cores); each host has its own bundle cache and fetches from the shared fs `bundles` mount after the gateway's prefetch notice.",
      ],
    }
    return [coldSection, storageSection, deploySection]
  } finally {
    await storage.dispose()
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const section of await run()) console.log(JSON.stringify(section, null, 2))
}
