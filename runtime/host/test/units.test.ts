import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { consola } from 'consola'
import { afterEach, describe, expect, it } from 'vitest'
import { ofetch } from 'ofetch'
import { createServer, type Socket } from 'node:net'
import { describeNetworkError, packArchive, sha256Hex } from '../../protocol/index.ts'
import type { FunctionManifest, HostEvent } from '../../protocol/index.ts'
import { createBundleCache } from '../_bundles.ts'
import { createEventOutbox, UnknownWorkerError, type OutboxEvent } from '../_events.ts'
import { createJsonPoster } from '../_post.ts'
import { resolveCapabilities } from '../_detect.ts'
import { createHost, parseNvidiaSmi, resolveHostOptions } from '../index.ts'
import { tempStorage } from '../../../test/kit/index.ts'

const enc = new TextEncoder()
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

describe('resolveHostOptions', () => {
  it('refuses a malformed number in the environment, naming the variable (it used to fall back silently)', () => {
    expect(() => resolveHostOptions({}, { WORKER_PORT: '50o3' })).toThrow(/WORKER_PORT="50o3"/)
    expect(() => resolveHostOptions({}, { KTRDR_HOST_SLOTS: 'two' })).toThrow(/KTRDR_HOST_SLOTS/)
    expect(() => resolveHostOptions({}, { KTRDR_HOST_HEARTBEAT_MS: '-5' })).toThrow(/KTRDR_HOST_HEARTBEAT_MS/)
    expect(resolveHostOptions({}, { KTRDR_HOST_HEARTBEAT_MS: '500' })).toMatchObject({ heartbeatIntervalMs: 500, heartbeatPinned: true })
    expect(resolveHostOptions({}, {})).toMatchObject({ heartbeatIntervalMs: 2000, heartbeatPinned: false })
  })

  it('reads the deployment guide environment and the KTRDR_HOST_* extras', () => {
    const o = resolveHostOptions(
      {},
      {
        KTRDR_API_URL: 'http://10.0.0.1:8000/',
        WORKER_ID: 'ktrdr-worker-bt-1',
        WORKER_TYPE: 'backtesting',
        WORKER_PORT: '5009',
        WORKER_ENDPOINT_URL: 'http://10.0.0.5:5009',
        WORKER_CORES: '4',
        WORKER_MEMORY_GB: '8',
        LOG_LEVEL: 'DEBUG',
        DATA_DIR: '/data/ktrdr',
        KTRDR_HOST_SLOTS: '3',
        KTRDR_HOST_CAPABILITIES: 'ib,llm',
        KTRDR_HOST_LABELS: 'fast-disk',
        KTRDR_CLUSTER_TOKEN: 'sekret',
        KTRDR_HOST_HEARTBEAT_MS: '500',
      },
    )
    expect(o).toMatchObject({
      apiUrl: 'http://10.0.0.1:8000',
      workerId: 'ktrdr-worker-bt-1',
      workerType: 'backtesting',
      port: 5009,
      endpointUrl: 'http://10.0.0.5:5009',
      cores: 4,
      memoryGb: 8,
      logLevel: 4,
      slots: 3,
      ib: true,
      llm: true,
      labels: ['fast-disk'],
      clusterToken: 'sekret',
      heartbeatIntervalMs: 500,
    })
    expect(o.storage.mounts.data).toEqual({ driver: 'fs', base: '/data/ktrdr' })
  })

  it('an llm model (KTRDR_LLM_MODEL or --llm-model) implies llm and is advertised with its sha256 and run settings', async () => {
    const root = await tempStorage('ktrdr-llm-opts-')
    cleanups.push(root.cleanup)
    const file = join(root.root, 'tiny-instruct.Q4_K_M.gguf')
    const bytes = enc.encode('GGUF not really a model, but a file whose hash we know')
    await writeFile(file, bytes)
    const o = resolveHostOptions({ detectGpu: false }, { KTRDR_LLM_MODEL: file, KTRDR_LLM_CONTEXT_SIZE: '2048', WORKER_CORES: '2' })
    expect(o).toMatchObject({ llm: true, llmModel: file, llmContextSize: 2048, llmGpuLayers: null, llmThreads: 1 })
    const caps = await resolveCapabilities(o)
    expect(caps.llm).toEqual({
      model: 'tiny-instruct.Q4_K_M',
      sha256: sha256Hex(bytes),
      path: file,
      size_bytes: bytes.length,
      context_size: 2048,
      gpu_layers: 0,
      threads: 1,
    })
    const gpu = await resolveCapabilities(
      resolveHostOptions({ detectGpu: false, gpu: { gpu_type: 'CUDA', gpu_count: 1 }, llmModel: file, llmThreads: 3 }, {}),
    )
    expect(gpu.llm).toMatchObject({ gpu_layers: 'auto', threads: 3 })
    expect(() => resolveHostOptions({}, { KTRDR_LLM_GPU_LAYERS: 'most' })).toThrow(/KTRDR_LLM_GPU_LAYERS/)
    await expect(
      resolveCapabilities(resolveHostOptions({ detectGpu: false, llmModel: join(root.root, 'missing.gguf') }, {})),
    ).rejects.toThrow(/missing\.gguf cannot be read/)
    // Without a model, llm stays the plain flag it was.
    expect((await resolveCapabilities(resolveHostOptions({ detectGpu: false, llm: true }, {}))).llm).toBe(true)
  })

  it('has defaults: general worker on 5003, 1 slot, 2 s heartbeat, generated id', () => {
    const o = resolveHostOptions({}, {})
    expect(o).toMatchObject({
      apiUrl: null,
      workerType: 'general',
      port: 5003,
      slots: 1,
      heartbeatIntervalMs: 2000,
      bind: '127.0.0.1',
      clusterToken: null,
    })
    expect(o.workerId).toMatch(/^general-worker-[0-9a-f]{8}$/)
  })

  it('a GPU declared in the environment is advertised; an unknown capability word stops the host', async () => {
    expect(resolveHostOptions({}, { KTRDR_HOST_CAPABILITIES: 'gpu' }).gpu).toEqual({ gpu_type: 'CUDA', gpu_count: 1 })
    const declared = resolveHostOptions(
      {},
      { KTRDR_HOST_CAPABILITIES: 'GPU, ib', KTRDR_HOST_GPU_TYPE: 'mps', KTRDR_HOST_GPU_COUNT: '2', KTRDR_HOST_GPU_MEMORY_GB: '24' },
    )
    expect(declared).toMatchObject({ ib: true, gpu: { gpu_type: 'MPS', gpu_count: 2, gpu_memory_gb: 24 } })
    // Detection is on, yet the declaration is what is advertised (nvidia-smi may not exist here).
    expect(await resolveCapabilities({ ...declared, detectGpu: true })).toMatchObject({
      gpu: true,
      gpu_type: 'MPS',
      gpu_count: 2,
      gpu_memory_gb: 24,
      ib: true,
    })
    expect(resolveHostOptions({}, { KTRDR_HOST_GPU_COUNT: '4' }).gpu).toEqual({ gpu_type: 'CUDA', gpu_count: 4 })
    expect(resolveHostOptions({}, {}).gpu).toBeNull()

    expect(() => resolveHostOptions({}, { KTRDR_HOST_CAPABILITIES: 'gpus,ib' })).toThrow(
      'KTRDR_HOST_CAPABILITIES: unknown capability "gpus" (did you mean "gpu"?): use gpu, ib, llm; labels a function may require go in KTRDR_HOST_LABELS',
    )
    expect(() => resolveHostOptions({}, { KTRDR_HOST_CAPABILITIES: 'fast-disk' })).toThrow(/unknown capability "fast-disk"/)
    expect(() => resolveHostOptions({}, { KTRDR_HOST_CAPABILITIES: 'gpu', KTRDR_HOST_GPU_TYPE: 'ROCm' })).toThrow(
      /KTRDR_HOST_GPU_TYPE must be CUDA or MPS, got "ROCm"/,
    )
    expect(() => resolveHostOptions({}, { KTRDR_HOST_GPU_COUNT: '0' })).toThrow(/KTRDR_HOST_GPU_COUNT must be a whole number of GPUs/)
  })

  it('parses nvidia-smi output into gpu capabilities', () => {
    expect(parseNvidiaSmi('NVIDIA H200, 143771 MiB\nNVIDIA H200, 143771 MiB\n')).toMatchObject({
      gpu_type: 'CUDA',
      gpu_count: 2,
      gpu_memory_gb: 140.4,
    })
    expect(parseNvidiaSmi('')).toBeNull()
  })
})

describe('event outbox', () => {
  it('coalesces unsent progress, keeps order and retries until acked', async () => {
    const delivered: OutboxEvent[] = []
    let fail = 2
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const outbox = createEventOutbox({
      logger: consola.withTag('test'),
      retry: { initialMs: 5, maxMs: 10 },
      onUnknownWorker: async () => {},
      async send(events) {
        await gate
        if (fail-- > 0) throw new Error('gateway down')
        delivered.push(...events)
        return { acked_seq: events.at(-1)!.seq }
      },
    })
    const base = { operation_id: 'op1', attempt: 1, at: new Date().toISOString() }
    outbox.push({ type: 'started', ...base })
    for (let i = 1; i <= 50; i++)
      outbox.push({ type: 'progress', ...base, progress: { percentage: i * 2, current_step: null, context: {} } })
    outbox.push({ type: 'completed', ...base, result: 42 })
    release()
    await outbox.drained()
    expect(delivered.map((e) => e.type)).toEqual(['started', 'progress', 'completed'])
    expect((delivered[1] as Extract<HostEvent, { type: 'progress' }>).progress.percentage).toBe(100)
    expect(delivered.map((e) => e.seq)).toEqual(delivered.map((e) => e.seq).sort((a, b) => a - b))
    outbox.stop()
  })

  it('re-registers when the gateway answers 404 and then delivers', async () => {
    let known = false
    const delivered: OutboxEvent[] = []
    const outbox = createEventOutbox({
      logger: consola.withTag('test'),
      onUnknownWorker: async () => {
        known = true
      },
      async send(events) {
        if (!known) throw new UnknownWorkerError('unknown')
        delivered.push(...events)
        return { acked_seq: events.at(-1)!.seq }
      },
    })
    outbox.push({ type: 'cancelled', operation_id: 'op2', attempt: 1, at: new Date().toISOString(), reason: 'x' })
    await outbox.drained()
    expect(known).toBe(true)
    expect(delivered).toHaveLength(1)
    outbox.stop()
  })
})

function fakeBundle(marker: string, size: number) {
  const manifest: FunctionManifest = {
    name: 'echo',
    description: '',
    operation_type: 'echo',
    input_schema: {},
    placement: {},
    timeout_seconds: 1,
    max_attempts: 1,
    entry: 'server/index.mjs',
    built_at: '1970-01-01T00:00:00.000Z',
    source_commit: null,
    node: '>=20',
  }
  return packArchive([
    { name: 'manifest.json', data: enc.encode(JSON.stringify(manifest)) },
    { name: 'server/index.mjs', data: enc.encode(`// ${marker}\n${'x'.repeat(size)}`) },
  ])
}

describe('why the gateway could not be reached', () => {
  // What the registration and heartbeat lines of the journal say, from the poster's own errors.
  const failure = (url: string, timeoutMs = 5000) => {
    const poster = createJsonPoster(`${url}/api/v1`, {})
    return poster
      .post('/workers/register', {}, { timeoutMs })
      .then(
        () => {
          throw new Error('expected the request to fail')
        },
        (error: Error) => error,
      )
      .finally(() => poster.close())
  }

  it('a closed port: connection refused, with the address', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    await new Promise((resolve) => server.close(resolve))
    expect(describeNetworkError(await failure(`http://127.0.0.1:${port}`))).toBe(
      `Connection refused (ECONNREFUSED 127.0.0.1:${port}): nothing listens there`,
    )
  })

  it('a gateway that accepts but never answers: a timeout saying how long', async () => {
    const sockets: Socket[] = []
    const server = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    })
    const { port } = server.address() as { port: number }
    expect(describeNetworkError(await failure(`http://127.0.0.1:${port}`, 200))).toMatch(
      /^Timed out: .*\/workers\/register: no answer within 200 ms$/,
    )
  })
})

describe('bundle cache', () => {
  it('evicts least recently used bundles past its cap, never one in use, and survives a restart', async () => {
    const env = await tempStorage('ktrdr-cache-')
    cleanups.push(env.cleanup)
    const refs = []
    for (const m of ['a', 'b', 'c']) {
      const archive = fakeBundle(m, 40_000)
      const sha = sha256Hex(archive)
      await env.storage.bundles.setItemRaw(`echo/${sha}.tgz`, archive)
      refs.push({ name: 'echo', version: refs.length + 1, sha256: sha, bundle_key: `echo/${sha}.tgz`, timeout_seconds: 1 })
    }
    const inUse = new Set([refs[0]!.sha256])
    const dir = join(env.root, 'cache')
    const cache = createBundleCache({ dir, maxBytes: 90_000, bundles: env.storage.bundles, isInUse: (sha) => inUse.has(sha) })
    await cache.init()
    for (const ref of refs) await cache.ensure(ref)
    // a is the oldest but in use, so b goes.
    expect(cache.warm().sort()).toEqual([refs[0]!.sha256, refs[2]!.sha256].sort())
    expect(existsSync(join(dir, refs[1]!.sha256))).toBe(false)
    const again = createBundleCache({ dir, maxBytes: 90_000, bundles: env.storage.bundles, isInUse: () => false })
    await again.init()
    expect(again.warm().sort()).toEqual([refs[0]!.sha256, refs[2]!.sha256].sort())
  })
})

describe('cluster token', () => {
  it('guards every host route except /health', async () => {
    const env = await tempStorage('ktrdr-token-')
    cleanups.push(env.cleanup)
    const host = await createHost({
      apiUrl: null,
      port: 0,
      storage: { root: env.storageRoot },
      cacheDir: join(env.root, 'cache'),
      clusterToken: 'tok',
      detectGpu: false,
      logLevel: 'error',
    })
    cleanups.push(() => host.close())
    expect((await ofetch(`${host.url}/health`)).healthy).toBe(true)
    const denied = await ofetch.raw(`${host.url}/invocations`, { method: 'POST', body: {}, ignoreResponseError: true })
    expect(denied.status).toBe(401)
    const allowed = await ofetch.raw(`${host.url}/invocations`, {
      method: 'POST',
      body: {},
      headers: { authorization: 'Bearer tok' },
      ignoreResponseError: true,
    })
    expect(allowed.status).toBe(400)
  })

  it('refuses a non-loopback bind without a token unless insecure', async () => {
    await expect(createHost({ apiUrl: null, port: 0, bind: '0.0.0.0', clusterToken: null, detectGpu: false })).rejects.toMatchObject({
      code: 'INSECURE_BIND',
    })
  })
})
