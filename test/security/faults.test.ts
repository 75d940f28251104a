// Fault hardening with real components: two gateways on one database, a full disk, a damaged
// bundle cache, damaged models, an executor past its memory cap and a spin loop in a real bundle.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, statfs, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '../../runtime/function/testing.ts'
import { createHost, type KtrdrHost } from '../../runtime/host/index.ts'
import { buildAndStore, dispatchRequest, invokeAndWait, type Published } from '../../runtime/host/test/_setup.ts'
import type { Operation } from '../../runtime/protocol/index.ts'
import { createKtrdrStorage, resolveLocalPath, sweepTempFiles } from '../../storage/index.ts'
import backtest from '../../functions/backtest/index.ts'
import { createTempStorage, referenceYaml, writeBars, writeModel } from '../../functions/backtest/test/_fixtures.ts'
import { freePort, spawnKtrdr, type KtrdrChild } from '../cluster/_cluster.ts'
import { api, buildEcho, publish, tempStorage, until, type TempStorage } from '../kit/index.ts'

const FIXTURES = join(import.meta.dirname, 'fixtures')
let root: string
let echoArchive: Uint8Array

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktrdr-faults-'))
  echoArchive = (await buildEcho(join(root, 'build'))).archive
}, 180_000)
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

/** Every file or directory under `dir` named like an atomic write's temporary. */
async function tempLeftovers(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[])
  return entries.filter((e) => /\.tmp-/.test(e))
}

describe('one gateway per database', () => {
  const children: KtrdrChild[] = []
  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill('SIGKILL')))
  })

  function gateway(dir: string, port: number) {
    const child = spawnKtrdr(['gateway', '--port', String(port), '--db', join(dir, 'gateway.db'), '--home', join(dir, 'store')], {
      KTRDR_API_TOKEN: '',
      KTRDR_CLUSTER_TOKEN: '',
    })
    children.push(child)
    return child
  }

  it('refuses a second gateway on the same gateway.db; the first keeps running its operations; SIGKILL does not block the next start', async () => {
    const dir = join(root, 'lock')
    const port = await freePort()
    const first = gateway(dir, port)
    const url = `http://127.0.0.1:${port}`
    await until(async () => (await fetch(`${url}/health`)).ok, 30_000, `gateway\n${first.output()}`, 100)
    await publish(url, 'echo', echoArchive)
    const host = await createHost({
      apiUrl: url,
      port: 0,
      workerId: 'lock-host',
      storage: { root: join(dir, 'store') },
      cacheDir: join(dir, 'cache'),
      detectGpu: false,
      register: { initialDelayMs: 50, maxDelayMs: 200 },
      logLevel: 'warn',
    })
    try {
      await host.registered
      const running = (await api<Operation>(url, '/api/v1/functions/echo/invoke', { body: { input: { steps: 3, delay_ms: 3000 } } })).body
      await until(
        async () => (await api<Operation>(url, `/api/v1/operations/${running.operation_id}`)).body.status === 'running',
        20_000,
        'operation running',
      )

      const second = gateway(dir, await freePort())
      const exited = await until(
        () => (second.proc.exitCode !== null ? { code: second.proc.exitCode } : null),
        30_000,
        'the second gateway to exit',
        50,
      )
      expect(exited.code).not.toBe(0)
      expect(second.output()).toMatch(new RegExp(`in use by gateway pid ${first.proc.pid} on .*one gateway per database`))

      // The first gateway finished its operation in its first attempt: nobody re-queued it.
      const done = await until(
        async () => {
          const op = (await api<Operation>(url, `/api/v1/operations/${running.operation_id}`)).body
          return op.status === 'completed' ? op : null
        },
        30_000,
        'operation completed',
      )
      expect(done.attempts).toBe(1)
      expect((await fetch(`${url}/health`)).ok).toBe(true)

      // A SIGKILLed gateway leaves its lock behind; the next start on this machine sees its pid is gone.
      await first.kill('SIGKILL')
      const startedAt = Date.now()
      const third = gateway(dir, port)
      await until(async () => (await fetch(`${url}/health`)).ok, 30_000, `gateway after SIGKILL\n${third.output()}`, 100)
      expect(Date.now() - startedAt).toBeLessThan(9000) // below the 10 s staleness the mtime check alone would need
      expect((await api<Operation>(url, `/api/v1/operations/${running.operation_id}`)).body.status).toBe('completed')
      // A clean stop releases the lock.
      await third.kill('SIGTERM')
      expect(existsSync(join(dir, 'gateway.db.lock'))).toBe(false)
    } finally {
      await host.close({ timeoutMs: 1000 })
    }
  }, 120_000)
})

describe('a full disk (ENOSPC) leaves no temporary files', () => {
  const mnt = join(tmpdir(), `ktrdr-enospc-${process.pid}`)
  let mounted = false
  beforeAll(async () => {
    await mkdir(mnt, { recursive: true })
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' })
      mounted = true
    } catch (error) {
      console.log(`Skipping the ENOSPC tests: cannot mount a tmpfs at ${mnt} (needs root): ${(error as Error).message.split('\n')[0]}`)
    }
  })
  afterAll(async () => {
    if (mounted) execFileSync('umount', [mnt])
    await rm(mnt, { recursive: true, force: true })
  })

  it('a storage write that runs out of space fails with 507 STORAGE_FULL and removes its temp file', async (ctx) => {
    if (!mounted) return ctx.skip()
    const storage = await createKtrdrStorage({ root: join(mnt, 'storage') })
    try {
      await writeFile(join(mnt, 'filler'), Buffer.alloc(3 * 1024 * 1024))
      const write = storage.models.setItemRaw('big/weights.bin', new Uint8Array(2 * 1024 * 1024))
      await expect(write).rejects.toMatchObject({ statusCode: 507, code: 'STORAGE_FULL' })
      expect(await tempLeftovers(mnt)).toEqual([])
      expect(await storage.models.hasItem('big/weights.bin')).toBe(false)
    } finally {
      await rm(join(mnt, 'filler'), { force: true })
      await storage.dispose()
    }
  })

  it('through the gateway: publishing onto a full disk answers 507, not 500, and leaves nothing behind', async (ctx) => {
    if (!mounted) return ctx.skip()
    const { createGateway } = await import('../../runtime/gateway/index.ts')
    const gw = await createGateway({
      port: 0,
      quiet: true,
      dbPath: join(root, 'enospc', 'gateway.db'),
      storage: { root: join(mnt, 'store') },
      apiToken: null,
      clusterToken: null,
    })
    try {
      const fs = await statfs(mnt)
      await writeFile(join(mnt, 'filler'), Buffer.alloc(fs.bavail * fs.bsize - Math.floor(echoArchive.byteLength / 2)))
      const { status, body } = await api<{ code?: string; data?: { code?: string } }>(gw.url, '/api/v1/functions/echo/versions', {
        raw: echoArchive,
        contentType: 'application/gzip',
      })
      expect(status).toBe(507)
      expect(body.data?.code ?? body.code).toBe('STORAGE_FULL')
      expect(await tempLeftovers(mnt)).toEqual([])
    } finally {
      await rm(join(mnt, 'filler'), { force: true })
      await gw.close()
    }
  })

  it('the start-up sweep removes only stale temp files of our own naming', async () => {
    const dir = join(root, 'sweep')
    await mkdir(join(dir, 'a/b'), { recursive: true })
    const stale = join(dir, 'a/b/x.csv.tmp-1234-0123abcd')
    const fresh = join(dir, 'a/y.json.tmp-99-deadbeef')
    const foreign = join(dir, 'a/notes.tmp-draft')
    for (const f of [stale, fresh, foreign]) await writeFile(f, 'x')
    const old = new Date(Date.now() - 5 * 60_000)
    await utimes(stale, old, old)
    await utimes(foreign, old, old)
    const result = await sweepTempFiles(dir)
    expect(result.removed).toEqual([stale])
    expect(existsSync(fresh)).toBe(true)
    expect(existsSync(foreign)).toBe(true)
  })
})

describe('host bundle cache and executors', () => {
  let env: TempStorage
  let echo: Published
  let host: KtrdrHost
  const cacheDir = () => join(env.root, 'cache')
  const start = () =>
    createHost({
      port: 0,
      workerId: 'faults-host',
      storage: { root: env.storageRoot },
      cacheDir: cacheDir(),
      detectGpu: false,
      executorMemoryMb: 256,
      maxIdleExecutors: 0,
      spareExecutors: 1,
      cancelGraceMs: 500,
      forwardExecutorOutput: false,
      logLevel: 'error',
    })

  beforeAll(async () => {
    env = await tempStorage('ktrdr-faults-host-')
    echo = await buildAndStore('echo', env.storage, join(env.root, 'build'))
    host = await start()
  }, 120_000)
  afterAll(async () => {
    await host?.close({ timeoutMs: 1000 })
    await env?.cleanup()
  })

  /** Flips the first 64 bytes of the cached entry file, as a bad disk or a stray write would. */
  async function damageCachedEntry() {
    const entry = join(cacheDir(), 'bundles', echo.ref.sha256, 'server', 'index.mjs')
    const bytes = await readFile(entry)
    for (let i = 0; i < 64; i++) bytes[i] = bytes[i]! ^ 0xff
    await writeFile(entry, bytes)
    return { entry, damaged: bytes }
  }

  it('a damaged cached bundle is re-verified, evicted and fetched again: the invocation succeeds', async () => {
    expect((await invokeAndWait(host.url, dispatchRequest(echo.ref, { message: 'warm' }))).status).toBe('completed')
    const { entry, damaged } = await damageCachedEntry()
    const first = await invokeAndWait(host.url, dispatchRequest(echo.ref, { message: 'after damage' }))
    expect(first).toMatchObject({ status: 'completed', result: { message: 'after damage' } })
    expect((await readFile(entry)).equals(damaged)).toBe(false)
    for (let i = 0; i < 2; i++)
      expect((await invokeAndWait(host.url, dispatchRequest(echo.ref, { message: `again ${i}` }))).status).toBe('completed')
  }, 60_000)

  it('a restarted host re-verifies its cache at start and drops the damaged bundle', async () => {
    await damageCachedEntry()
    await host.close({ timeoutMs: 1000 })
    host = await start()
    expect(host.warmBundles()).not.toContain(echo.ref.sha256)
    expect((await invokeAndWait(host.url, dispatchRequest(echo.ref, { message: 'fresh' }))).status).toBe('completed')
  }, 60_000)

  it('an executor past its memory cap (Buffers, off the V8 heap) fails with FUNCTION_OUT_OF_MEMORY; the host stays available', async () => {
    const health = (await (await fetch(`${host.url}/health`)).json()) as { memory_enforcement: { mode: string; limit_mb: number } }
    expect(health.memory_enforcement).toMatchObject({ limit_mb: 256 })
    expect(['cgroup-v2', 'rss-watchdog']).toContain(health.memory_enforcement.mode)
    const hog = await buildAndStore(join(FIXTURES, 'memory-hog'), env.storage, join(env.root, 'build'))
    const small = await invokeAndWait(host.url, dispatchRequest(hog.ref, { mb: 32 }))
    expect(small).toMatchObject({ status: 'completed', result: { held_mb: 32 } })
    const started = Date.now()
    const big = await invokeAndWait(host.url, dispatchRequest(hog.ref, { mb: 1024 }))
    expect(big).toMatchObject({ status: 'failed', error: { code: 'FUNCTION_OUT_OF_MEMORY', retryable: false } })
    expect(big.error.message).toMatch(/limit 256 MB/)
    console.log(`memory-hog stopped after ${Date.now() - started} ms by ${health.memory_enforcement.mode}: ${big.error.message}`)
    expect(await (await fetch(`${host.url}/health`)).json()).toMatchObject({ healthy: true, status: 'operational' })
    expect((await invokeAndWait(host.url, dispatchRequest(echo.ref, { message: 'still here' }))).status).toBe('completed')
  }, 120_000)

  it('a side-effect-free infinite loop survives the bundler and runs into its deadline (FUNCTION_TIMEOUT)', async () => {
    const spin = await buildAndStore(join(FIXTURES, 'spin'), env.storage, join(env.root, 'build'))
    const bundled = await readdir(join(spin.built.outputDir, 'server'), { recursive: true })
    const code = (
      await Promise.all(bundled.filter((f) => f.endsWith('.mjs')).map((f) => readFile(join(spin.built.outputDir, 'server', f), 'utf8')))
    ).join('\n')
    expect(code).toMatch(/for \(; ; \)/)
    const started = Date.now()
    const outcome = await invokeAndWait(host.url, dispatchRequest(spin.ref, {}, { deadline_ms: Date.now() + 2000 }))
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'FUNCTION_TIMEOUT' } })
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900)
    expect(await (await fetch(`${host.url}/health`)).json()).toMatchObject({ healthy: true })
  }, 120_000)

  it('when the stored archive is damaged too, the host refuses that version for a while instead of failing every call', async () => {
    const bad = { ...echo.ref, sha256: echo.ref.sha256, bundle_key: 'echo/damaged.tgz' }
    const archive = new Uint8Array(echo.archive)
    archive[archive.length - 10] ^= 0xff
    await env.storage.bundles.setItemRaw(bad.bundle_key, archive)
    expect((await invokeAndWait(host.url, dispatchRequest(echo.ref, { message: 'cached' }))).status).toBe('completed')
    await damageCachedEntry()
    const first = await invokeAndWait(host.url, dispatchRequest(bad, {}))
    expect(first).toMatchObject({ status: 'failed', error: { code: 'BUNDLE_SHA_MISMATCH' } })
    const res = await fetch(`${host.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(dispatchRequest(bad, {})),
    })
    expect(res.status).toBe(503)
    const info = (await (await fetch(`${host.url}/`)).json()) as { unhealthy_bundles: unknown[] }
    expect(info.unhealthy_bundles).toEqual([
      expect.objectContaining({ sha256: echo.ref.sha256, reason: expect.stringMatching(/stored archive has sha256/) }),
    ])
    expect(await (await fetch(`${host.url}/health`)).json()).toMatchObject({ healthy: true, status: 'operational' })
  }, 60_000)
})

describe('damaged models', () => {
  let storage: Awaited<ReturnType<typeof createTempStorage>>['storage']
  let cleanup: () => Promise<void>
  const START = new Date(Date.UTC(2024, 0, 1) + 300 * 3_600_000).toISOString()
  beforeAll(async () => {
    ;({ storage, cleanup } = await createTempStorage())
    await writeBars(storage, 'EURUSD', '1h', 500, 3)
  }, 60_000)
  afterAll(async () => {
    await cleanup?.()
  })

  async function freshModel() {
    const saved = await writeModel(storage, await referenceYaml('v3_multi_indicator.yaml'), { planted: true })
    saved.model.dispose()
    return { key: saved.key, weights: resolveLocalPath(storage.options, 'models', `${saved.key}/weights.bin`)! }
  }
  const run = (key: string) =>
    runFunctionInProcess(backtest, { model_path: key, symbol: 'EURUSD', timeframe: '1h', start_date: START }, { storage })

  it('same-size random weights.bin → MODEL_CORRUPT (422, not retryable), not a completed all-zero backtest', async () => {
    const { key, weights } = await freshModel()
    expect((await run(key)).result).toBeTruthy()
    const size = (await stat(weights)).size
    await writeFile(weights, Buffer.from(Array.from({ length: size }, (_, i) => (i * 7919 + 13) & 0xff)))
    await expect(run(key)).rejects.toMatchObject({ statusCode: 422, code: 'MODEL_CORRUPT', retryable: false })
  }, 60_000)

  it('truncated weights.bin → MODEL_CORRUPT, not MODEL_NOT_FOUND', async () => {
    const { key, weights } = await freshModel()
    const bytes = await readFile(weights)
    await writeFile(weights, bytes.subarray(0, Math.floor(bytes.length / 2)))
    await expect(run(key)).rejects.toMatchObject({
      statusCode: 422,
      code: 'MODEL_CORRUPT',
      message: expect.stringMatching(/weights\.bin has \d+ bytes/),
    })
  }, 60_000)

  it('a model saved before checksums (no artifacts in metadata) still loads, with a warning; truncated it is MODEL_CORRUPT', async () => {
    const { key, weights } = await freshModel()
    const meta = await storage.models.getItem<Record<string, unknown>>(`${key}/metadata.json`)
    delete meta!.artifacts
    await storage.models.setItem(`${key}/metadata.json`, JSON.stringify(meta))
    const warnings: string[] = []
    const { loadModel } = await import('../../trading/model/index.ts')
    const loaded = await loadModel(storage, key, { onWarning: (m) => warnings.push(m) })
    loaded.model.dispose()
    expect(warnings.join('\n')).toMatch(/without file checksums/)
    expect((await run(key)).result).toBeTruthy()
    const bytes = await readFile(weights)
    await writeFile(weights, bytes.subarray(0, -4))
    await expect(run(key)).rejects.toMatchObject({ statusCode: 422, code: 'MODEL_CORRUPT' })
  }, 60_000)
})
