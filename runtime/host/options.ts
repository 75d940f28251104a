import { randomBytes } from 'node:crypto'
import { cpus, hostname, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { KtrdrError } from '../protocol/index.ts'
import { didYouMean, envNumber, resolveLogFormat, type LogFormat } from '../protocol/index.ts'
import type { FunctionStorageMode } from './_storage-proxy.ts'
import { resolveStorageOptions, type ResolvedStorageOptions, type StorageConfig } from '../../storage/index.ts'

/** What a user, a CLI flag or a test says. Everything optional; env fills the rest. */
export interface HostConfig {
  /**
   * Gateway base URL (KTRDR_API_URL). A comma-separated list names an active/standby pair: the host
   * uses whichever answers as active. null: run standalone, register nowhere (benchmarks, tests).
   */
  apiUrl?: string | null
  workerId?: string
  workerType?: string
  /** 0 picks a free port (tests). */
  port?: number
  /** Address to bind. Default 127.0.0.1; a non-loopback address needs a cluster token or `insecure`. */
  bind?: string
  endpointUrl?: string
  cores?: number
  memoryGb?: number
  /** Concurrent invocations. Default 1 (one operation per worker, as in the deployment guide). */
  slots?: number
  ib?: boolean
  llm?: boolean
  /** A GGUF this host serves to LLM functions (KTRDR_LLM_MODEL); implies `llm`. */
  llmModel?: string | null
  /** Context window of that model in tokens (KTRDR_LLM_CONTEXT_SIZE, default 4096). */
  llmContextSize?: number
  /** Layers offloaded to the GPU: 'auto' or a count (KTRDR_LLM_GPU_LAYERS; default auto with a GPU, 0 without). */
  llmGpuLayers?: 'auto' | number
  /** Evaluation threads (KTRDR_LLM_THREADS; default cores − 1, at least 1). */
  llmThreads?: number
  labels?: string[]
  /** Skip nvidia-smi (tests); GPUs may still be declared with `gpu`. */
  detectGpu?: boolean
  gpu?: { gpu_type: 'CUDA' | 'MPS'; gpu_count: number; gpu_memory_gb?: number } | false
  clusterToken?: string | null
  insecure?: boolean
  logLevel?: string
  /** KTRDR_LOG_FORMAT: text (default) or json (one object a line, function output included). */
  logFormat?: LogFormat
  storage?: StorageConfig | ResolvedStorageOptions
  cacheDir?: string
  cacheMaxBytes?: number
  executorIdleMs?: number
  /** Idle executors kept warm across all versions. */
  maxIdleExecutors?: number
  /** Memory cap of each executor child (MB): its RSS, and --max-old-space-size for its heap. */
  executorMemoryMb?: number
  /** How the cap is enforced: 'auto' (cgroup v2 where the host may create cgroups, else RSS watchdog), 'cgroup' or 'rss'. */
  executorMemoryEnforcement?: 'auto' | 'cgroup' | 'rss'
  /** Pre-started Node processes waiting to load a bundle (takes Node start-up off cold starts). Default 1. */
  spareExecutors?: number
  /** Spawn an executor when a prefetch announces a version, so the first invocation finds it warm. */
  prewarm?: boolean
  /** Open the host channel (one WebSocket to the gateway for dispatches and events); false: HTTP only. Default true. */
  channel?: boolean
  heartbeatIntervalMs?: number
  /** After cancel or deadline, how long a function may take to stop before its child is killed. */
  cancelGraceMs?: number
  /** How long `started` may wait for the invocation's next event to travel with it (default 5 ms; runtime/host/_invocations.ts). */
  startedHoldMs?: number
  register?: { initialDelayMs?: number; maxDelayMs?: number; timeoutMs?: number }
  /** Forward executor stdout/stderr to this process (default true). */
  forwardExecutorOutput?: boolean
  /** GET /metrics without a token (KTRDR_METRICS_PUBLIC=1); default: the cluster token like every route but /health. */
  metricsPublic?: boolean
  /** How executors reach storage: 'direct' (fs mounts as fs, scope-checked; default) or 'proxy' (everything through the host with a capability). */
  functionStorage?: FunctionStorageMode
}

export interface ResolvedHostOptions {
  /** The first gateway URL (null: standalone). */
  apiUrl: string | null
  /** apiUrl split at commas, trailing slashes removed (empty when standalone). */
  apiUrls: string[]
  workerId: string
  workerType: string
  port: number
  bind: string
  endpointUrl: string | null
  cores: number
  memoryGb: number
  slots: number
  ib: boolean
  llm: boolean
  llmModel: string | null
  llmContextSize: number
  /** null: decided at start (auto with a GPU, 0 without). */
  llmGpuLayers: 'auto' | number | null
  llmThreads: number
  labels: string[]
  detectGpu: boolean
  gpu: { gpu_type: 'CUDA' | 'MPS'; gpu_count: number; gpu_memory_gb?: number } | false | null
  clusterToken: string | null
  insecure: boolean
  logLevel: number
  logFormat: LogFormat
  storage: ResolvedStorageOptions
  cacheDir: string
  cacheMaxBytes: number
  executorIdleMs: number
  maxIdleExecutors: number
  executorMemoryMb: number
  executorMemoryEnforcement: 'auto' | 'cgroup' | 'rss'
  spareExecutors: number
  prewarm: boolean
  channel: boolean
  heartbeatIntervalMs: number
  /** The interval was set (config or KTRDR_HOST_HEARTBEAT_MS): the gateway's suggestion does not shorten it. */
  heartbeatPinned: boolean
  cancelGraceMs: number
  startedHoldMs: number
  register: { initialDelayMs: number; maxDelayMs: number; timeoutMs: number }
  forwardExecutorOutput: boolean
  metricsPublic: boolean
  functionStorage: FunctionStorageMode
}

const LOG_LEVELS: Record<string, number> = { silent: -999, fatal: 0, error: 0, warn: 1, warning: 1, info: 3, debug: 4, trace: 5 }

const bool = (v: string | undefined) => (v === undefined || v === '' ? undefined : /^(1|true|yes|on)$/i.test(v))

/**
 * Host defaults live here and nowhere else. Env names follow the deployment guide (KTRDR_API_URL,
 * WORKER_*, LOG_LEVEL, DATA_DIR, MODELS_DIR) plus KTRDR_HOST_* for what the guide does not cover.
 * KTRDR_HOST_CAPABILITIES is a comma list of `gpu`, `ib`, `llm`; any other word is refused (labels
 * go in KTRDR_HOST_LABELS). A GPU is declared there, or by KTRDR_HOST_GPU_TYPE/_COUNT/_MEMORY_GB,
 * for hosts where nvidia-smi cannot see it; a declared GPU is advertised as declared.
 */
export function resolveHostOptions(config: HostConfig = {}, env: NodeJS.ProcessEnv = process.env): ResolvedHostOptions {
  const workerType = config.workerType ?? env.WORKER_TYPE ?? 'general'
  const declared = parseCapabilities(env.KTRDR_HOST_CAPABILITIES)
  const labels = [
    ...new Set([
      ...(config.labels ?? []),
      ...(env.KTRDR_HOST_LABELS ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ]),
  ]
  const storage =
    config.storage && 'mounts' in config.storage && config.storage.mounts && 'root' in config.storage
      ? (config.storage as ResolvedStorageOptions)
      : resolveStorageOptions(config.storage as StorageConfig | undefined, env)
  const workerId = config.workerId ?? env.WORKER_ID ?? env.KTRDR_WORKER_ID ?? `${workerType}-worker-${randomBytes(4).toString('hex')}`
  const level = config.logLevel ?? env.LOG_LEVEL ?? 'info'
  const cores = config.cores ?? envNumber(env, 'WORKER_CORES') ?? cpus().length
  const llmModel = config.llmModel !== undefined ? config.llmModel : env.KTRDR_LLM_MODEL || null
  const apiUrls = ((config.apiUrl !== undefined ? config.apiUrl : env.KTRDR_API_URL) ?? '')
    .split(',')
    .map((u) => u.trim().replace(/\/+$/, ''))
    .filter(Boolean)
  return {
    apiUrl: apiUrls[0] ?? null,
    apiUrls,
    workerId,
    workerType,
    port: config.port ?? envNumber(env, 'WORKER_PORT') ?? 5003,
    bind: config.bind ?? env.KTRDR_HOST_BIND ?? '127.0.0.1',
    endpointUrl: config.endpointUrl ?? env.WORKER_ENDPOINT_URL ?? env.KTRDR_WORKER_PUBLIC_BASE_URL ?? null,
    cores,
    memoryGb: config.memoryGb ?? envNumber(env, 'WORKER_MEMORY_GB') ?? Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    slots: Math.max(1, config.slots ?? envNumber(env, 'KTRDR_HOST_SLOTS') ?? 1),
    ib: config.ib ?? bool(env.KTRDR_HOST_IB) ?? declared.includes('ib'),
    llm: config.llm ?? bool(env.KTRDR_HOST_LLM) ?? (declared.includes('llm') || llmModel !== null),
    llmModel: llmModel === null ? null : resolve(llmModel),
    llmContextSize: positiveInt(config.llmContextSize ?? envNumber(env, 'KTRDR_LLM_CONTEXT_SIZE') ?? 4096, 'KTRDR_LLM_CONTEXT_SIZE'),
    llmGpuLayers: gpuLayers(config.llmGpuLayers ?? env.KTRDR_LLM_GPU_LAYERS),
    // llama.cpp's default (every core) made generation ~250× slower on a 2-core machine while the
    // host and its executors ran beside it (docs/decisions.md): leave one core to them.
    llmThreads: positiveInt(config.llmThreads ?? envNumber(env, 'KTRDR_LLM_THREADS') ?? Math.max(1, cores - 1), 'KTRDR_LLM_THREADS'),
    labels,
    detectGpu: config.detectGpu ?? bool(env.KTRDR_HOST_DETECT_GPU) ?? true,
    gpu: config.gpu ?? declaredGpu(env, declared.includes('gpu')),
    clusterToken: config.clusterToken !== undefined ? config.clusterToken : env.KTRDR_CLUSTER_TOKEN || null,
    insecure: config.insecure ?? bool(env.KTRDR_INSECURE) ?? false,
    logFormat: config.logFormat ?? resolveLogFormat(env.KTRDR_LOG_FORMAT),
    logLevel: typeof level === 'string' ? (LOG_LEVELS[level.toLowerCase()] ?? envNumber({ LOG_LEVEL: level }, 'LOG_LEVEL') ?? 3) : 3,
    storage,
    cacheDir: resolve(config.cacheDir ?? env.KTRDR_HOST_CACHE_DIR ?? join(storage.root, 'cache', 'hosts', workerId)),
    cacheMaxBytes: config.cacheMaxBytes ?? (envNumber(env, 'KTRDR_HOST_CACHE_MB') ?? 1024) * 1024 * 1024,
    executorIdleMs: config.executorIdleMs ?? envNumber(env, 'KTRDR_HOST_EXECUTOR_IDLE_MS') ?? 60_000,
    maxIdleExecutors: config.maxIdleExecutors ?? envNumber(env, 'KTRDR_HOST_MAX_IDLE_EXECUTORS') ?? 4,
    executorMemoryMb: config.executorMemoryMb ?? envNumber(env, 'KTRDR_HOST_EXECUTOR_MEMORY_MB') ?? 4096,
    executorMemoryEnforcement: memoryEnforcement(config.executorMemoryEnforcement ?? env.KTRDR_HOST_MEMORY_ENFORCEMENT),
    spareExecutors: Math.max(0, config.spareExecutors ?? envNumber(env, 'KTRDR_HOST_SPARE_EXECUTORS') ?? 1),
    prewarm: config.prewarm ?? bool(env.KTRDR_HOST_PREWARM) ?? true,
    channel: config.channel ?? bool(env.KTRDR_HOST_CHANNEL) ?? true,
    heartbeatIntervalMs: config.heartbeatIntervalMs ?? envNumber(env, 'KTRDR_HOST_HEARTBEAT_MS') ?? 2000,
    heartbeatPinned: config.heartbeatIntervalMs !== undefined || envNumber(env, 'KTRDR_HOST_HEARTBEAT_MS') !== undefined,
    cancelGraceMs: config.cancelGraceMs ?? envNumber(env, 'KTRDR_HOST_CANCEL_GRACE_MS') ?? 1000,
    startedHoldMs: config.startedHoldMs ?? 5,
    register: {
      initialDelayMs: config.register?.initialDelayMs ?? 1000,
      maxDelayMs: config.register?.maxDelayMs ?? 30_000,
      timeoutMs: config.register?.timeoutMs ?? 10_000,
    },
    forwardExecutorOutput: config.forwardExecutorOutput ?? true,
    metricsPublic: config.metricsPublic ?? bool(env.KTRDR_METRICS_PUBLIC) ?? false,
    functionStorage: resolveFunctionStorage(config.functionStorage ?? env.KTRDR_HOST_FUNCTION_STORAGE),
  }
}

/** What a host may advertise in KTRDR_HOST_CAPABILITIES; functions' placement asks for these. */
export const HOST_CAPABILITIES = ['gpu', 'ib', 'llm'] as const

/** `gpu,ib` → ['gpu', 'ib']; an unknown word stops the host (a typo must not advertise nothing). */
export function parseCapabilities(value: string | undefined): Array<(typeof HOST_CAPABILITIES)[number]> {
  const words = (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
  const unknown = words.filter((w) => !(HOST_CAPABILITIES as readonly string[]).includes(w))
  if (unknown.length)
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `KTRDR_HOST_CAPABILITIES: unknown capability ${unknown
        .map((w) => {
          const hint = didYouMean(w, HOST_CAPABILITIES)
          return `"${w}"${hint ? ` (did you mean "${hint}"?)` : ''}`
        })
        .join(', ')}: use ${HOST_CAPABILITIES.join(', ')}; labels a function may require go in KTRDR_HOST_LABELS`,
      details: { field: 'KTRDR_HOST_CAPABILITIES', unknown },
    })
  return words as Array<(typeof HOST_CAPABILITIES)[number]>
}

/**
 * A GPU declared in the environment: `gpu` among the capabilities, or any of KTRDR_HOST_GPU_TYPE
 * (CUDA, MPS; default CUDA), KTRDR_HOST_GPU_COUNT (default 1), KTRDR_HOST_GPU_MEMORY_GB (per GPU).
 * null when nothing is declared (then nvidia-smi decides).
 */
function declaredGpu(env: NodeJS.ProcessEnv, named: boolean): ResolvedHostOptions['gpu'] {
  const type = env.KTRDR_HOST_GPU_TYPE || undefined
  const count = envNumber(env, 'KTRDR_HOST_GPU_COUNT')
  const memory = envNumber(env, 'KTRDR_HOST_GPU_MEMORY_GB')
  if (!named && type === undefined && count === undefined && memory === undefined) return null
  return resolveGpu(
    { type, count, memoryGb: memory },
    { type: 'KTRDR_HOST_GPU_TYPE', count: 'KTRDR_HOST_GPU_COUNT', memoryGb: 'KTRDR_HOST_GPU_MEMORY_GB' },
  )
}

/** A declared GPU's fields, checked: type CUDA or MPS, a whole count ≥ 1, memory in GB > 0. `names` are the settings, for errors. */
export function resolveGpu(
  input: { type?: string; count?: number; memoryGb?: number },
  names: { type: string; count: string; memoryGb: string },
): { gpu_type: 'CUDA' | 'MPS'; gpu_count: number; gpu_memory_gb?: number } {
  const type = (input.type ?? 'CUDA').toUpperCase()
  if (type !== 'CUDA' && type !== 'MPS')
    throw new KtrdrError({ code: 'CONFIG_INVALID', message: `${names.type} must be CUDA or MPS, got ${JSON.stringify(input.type)}` })
  const count = input.count ?? 1
  if (!Number.isInteger(count) || count < 1)
    throw new KtrdrError({ code: 'CONFIG_INVALID', message: `${names.count} must be a whole number of GPUs ≥ 1, got ${input.count}` })
  if (input.memoryGb !== undefined && !(input.memoryGb > 0))
    throw new KtrdrError({ code: 'CONFIG_INVALID', message: `${names.memoryGb} must be a number of GB above 0, got ${input.memoryGb}` })
  return { gpu_type: type, gpu_count: count, ...(input.memoryGb !== undefined ? { gpu_memory_gb: input.memoryGb } : {}) }
}

function positiveInt(value: number, name: string): number {
  if (Number.isInteger(value) && value > 0) return value
  throw new KtrdrError({
    code: 'CONFIG_INVALID',
    message: `${name} must be a positive integer, got ${JSON.stringify(value)}`,
  })
}

function gpuLayers(value: string | number | undefined): 'auto' | number | null {
  if (value === undefined || value === '') return null
  if (value === 'auto') return 'auto'
  const n = typeof value === 'number' ? value : Number(value)
  if (Number.isInteger(n) && n >= 0) return n
  throw new KtrdrError({
    code: 'CONFIG_INVALID',
    message: `KTRDR_LLM_GPU_LAYERS must be "auto" or a non-negative integer, got ${JSON.stringify(value)}`,
  })
}

function resolveFunctionStorage(value: string | undefined): FunctionStorageMode {
  if (value === undefined || value === '' || value === 'direct') return 'direct'
  if (value === 'proxy') return 'proxy'
  throw new KtrdrError({
    code: 'CONFIG_INVALID',
    message: `KTRDR_HOST_FUNCTION_STORAGE must be "direct" or "proxy", got ${JSON.stringify(value)}`,
  })
}

export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.')
}

export { hostname }

function memoryEnforcement(value: string | undefined): 'auto' | 'cgroup' | 'rss' {
  if (value === undefined || value === '') return 'auto'
  if (value === 'auto' || value === 'cgroup' || value === 'rss') return value
  throw new KtrdrError({
    code: 'CONFIG_INVALID',
    message: `KTRDR_HOST_MEMORY_ENFORCEMENT must be auto, cgroup or rss, not ${JSON.stringify(value)}`,
  })
}
