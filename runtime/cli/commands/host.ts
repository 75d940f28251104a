import { defineCommand } from 'citty'
import { guard } from '../_api.ts'
import { UsageError } from '../_errors.ts'
import { homeArg, intArg as int, listArg as list, stopOnSignals } from '../_serve.ts'

export default defineCommand({
  meta: { name: 'host', description: 'Run a function host: registers with the gateway, runs function bundles in isolated executors' },
  args: {
    api: { type: 'string', description: 'Gateway URL (default KTRDR_API_URL; without one the host runs standalone)' },
    id: { type: 'string', description: 'Worker id (default WORKER_ID or <type>-worker-<8 hex>)' },
    type: { type: 'string', description: 'Worker type label functions may require (default WORKER_TYPE or general)' },
    port: { type: 'string', description: 'Port (default WORKER_PORT or 5003; 0 picks a free one)' },
    bind: { type: 'string', description: 'Bind address (default KTRDR_HOST_BIND or 127.0.0.1)' },
    endpoint: { type: 'string', description: 'URL the gateway reaches this host at (default WORKER_ENDPOINT_URL or http://<bind>:<port>)' },
    slots: { type: 'string', description: 'Concurrent invocations (default KTRDR_HOST_SLOTS or 1)' },
    cores: { type: 'string', description: 'Advertised cores (default WORKER_CORES or detected)' },
    memory: { type: 'string', description: 'Advertised memory in GB (default WORKER_MEMORY_GB or detected)' },
    ib: { type: 'boolean', description: 'This host reaches an IB Gateway (capability ib)' },
    llm: { type: 'boolean', description: 'This host runs local LLM functions (capability llm) with models from the models mount' },
    'llm-model': { type: 'string', description: 'A GGUF file this host serves to LLM functions (default KTRDR_LLM_MODEL); implies --llm' },
    'llm-context': { type: 'string', description: 'Context window in tokens (default KTRDR_LLM_CONTEXT_SIZE or 4096)' },
    'llm-gpu-layers': { type: 'string', description: 'Layers offloaded to the GPU: auto or a count (default auto with a GPU, 0 without)' },
    'llm-threads': { type: 'string', description: 'Evaluation threads (default KTRDR_LLM_THREADS or cores - 1)' },
    labels: { type: 'string', description: 'Comma-separated labels functions may require' },
    home: homeArg,
    gpu: {
      type: 'boolean',
      description:
        'Declare a GPU that nvidia-smi cannot see: --gpu [CUDA|MPS] (default CUDA; or KTRDR_HOST_CAPABILITIES=gpu). Without it GPUs are detected',
      negativeDescription: 'Advertise no GPU and skip nvidia-smi detection',
    },
    'gpu-count': { type: 'string', description: 'Number of declared GPUs (default 1; implies --gpu; or KTRDR_HOST_GPU_COUNT)' },
    'gpu-memory': { type: 'string', description: 'Memory per declared GPU in GB (implies --gpu; or KTRDR_HOST_GPU_MEMORY_GB)' },
    insecure: { type: 'boolean', description: 'Allow a non-loopback bind without KTRDR_CLUSTER_TOKEN' },
  },
  run: ({ args, rawArgs }) =>
    guard(async () => {
      const { createHost, resolveGpu } = await import('../../host/index.ts')
      const memory = args.memory === undefined ? undefined : Number(args.memory)
      if (memory !== undefined && !(memory > 0)) throw new Error(`--memory must be a positive number of GB, got "${args.memory}"`)
      const gpuType = declaredGpuType(rawArgs)
      const declaresGpu = args.gpu === true || args['gpu-count'] !== undefined || args['gpu-memory'] !== undefined
      if (args.gpu === false && declaresGpu) throw new UsageError('--no-gpu contradicts --gpu-count / --gpu-memory: choose one')
      const gpu = declaresGpu
        ? flagValues(() =>
            resolveGpu(
              {
                type: gpuType,
                count: args['gpu-count'] === undefined ? undefined : Number(args['gpu-count']),
                memoryGb: args['gpu-memory'] === undefined ? undefined : Number(args['gpu-memory']),
              },
              { type: '--gpu', count: '--gpu-count', memoryGb: '--gpu-memory' },
            ),
          )
        : args.gpu === false
          ? (false as const)
          : undefined
      const host = await createHost({
        apiUrl: args.api,
        workerId: args.id,
        workerType: args.type,
        port: int('port', args.port),
        bind: args.bind,
        endpointUrl: args.endpoint,
        slots: int('slots', args.slots),
        cores: int('cores', args.cores),
        memoryGb: memory,
        ib: args.ib || undefined,
        llm: args.llm || undefined,
        llmModel: args['llm-model'],
        llmContextSize: int('llm-context', args['llm-context']),
        llmGpuLayers:
          args['llm-gpu-layers'] === undefined || args['llm-gpu-layers'] === 'auto'
            ? (args['llm-gpu-layers'] as 'auto' | undefined)
            : int('llm-gpu-layers', args['llm-gpu-layers']),
        llmThreads: int('llm-threads', args['llm-threads']),
        labels: list(args.labels),
        storage: args.home ? { root: args.home } : undefined,
        gpu,
        detectGpu: args.gpu === false ? false : undefined,
        insecure: args.insecure || undefined,
      })
      stopOnSignals((signal) => {
        console.error(`${signal}: draining ${host.workerId} (running invocations finish, up to 25 s)`)
        return host.close({ timeoutMs: 25_000 })
      })
    }),
})

/** A value the flags gave that the host refuses is the command line's fault: exit 2 (_errors.ts). */
function flagValues<T>(fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

/** `--gpu MPS` / `--gpu=MPS`: citty parses --gpu as a flag, so its optional value is read here. */
function declaredGpuType(rawArgs: string[]): string | undefined {
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]
    if (arg.startsWith('--gpu=')) return arg.slice('--gpu='.length)
    if (arg === '--gpu' && rawArgs[i + 1] !== undefined && !rawArgs[i + 1].startsWith('-')) return rawArgs[i + 1]
  }
  return undefined
}
