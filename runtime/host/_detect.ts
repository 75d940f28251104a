import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { promisify } from 'node:util'
import type { LlmCapability, WorkerCapabilities } from '../protocol/index.ts'
import { KtrdrError } from '../protocol/index.ts'
import type { ResolvedHostOptions } from './options.ts'

const run = promisify(execFile)

export interface GpuInfo {
  gpu_type: 'CUDA'
  gpu_count: number
  gpu_memory_gb: number
  names: string[]
}

/** GPUs through nvidia-smi when it exists; null on hosts without it (or when it fails). */
export async function detectGpus(timeoutMs = 3000): Promise<GpuInfo | null> {
  try {
    const { stdout } = await run('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader'], { timeout: timeoutMs })
    return parseNvidiaSmi(stdout)
  } catch {
    return null
  }
}

/** Lines like `NVIDIA H200, 143771 MiB`. gpu_memory_gb is per GPU (the smallest, what a function can count on). */
export function parseNvidiaSmi(stdout: string): GpuInfo | null {
  const rows = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [name, memory] = line.split(',').map((s) => s.trim())
      const mib = Number.parseFloat(memory ?? '')
      return { name: name ?? 'GPU', gb: Number.isFinite(mib) ? Math.round((mib / 1024) * 10) / 10 : 0 }
    })
  if (rows.length === 0) return null
  return { gpu_type: 'CUDA', gpu_count: rows.length, gpu_memory_gb: Math.min(...rows.map((r) => r.gb)), names: rows.map((r) => r.name) }
}

export async function resolveCapabilities(options: ResolvedHostOptions): Promise<WorkerCapabilities> {
  const gpu = options.gpu ?? (options.detectGpu ? await detectGpus() : null)
  const caps: WorkerCapabilities = {
    cores: options.cores,
    memory_gb: options.memoryGb,
    gpu: Boolean(gpu),
    ib: options.ib,
    llm: options.llmModel ? await describeLlmModel(options, Boolean(gpu)) : options.llm,
    slots: options.slots,
    labels: options.labels,
  }
  if (gpu) {
    caps.gpu_type = gpu.gpu_type
    caps.gpu_count = gpu.gpu_count
    if (gpu.gpu_memory_gb !== undefined) caps.gpu_memory_gb = gpu.gpu_memory_gb
    if ('names' in gpu) caps.gpu_names = gpu.names
  }
  return caps
}

/**
 * The model this host serves, as advertised: id, sha256 (hashed once at start, so results can name
 * the exact weights), size, and how it runs here. A missing or unreadable file stops the host with
 * a clear message rather than advertising a model no invocation could load.
 */
export async function describeLlmModel(options: ResolvedHostOptions, gpu: boolean): Promise<LlmCapability> {
  const path = options.llmModel!
  const info = await stat(path).catch((error: Error) => {
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `KTRDR_LLM_MODEL / --llm-model ${path} cannot be read: ${error.message}`,
    })
  })
  if (!info.isFile())
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `KTRDR_LLM_MODEL / --llm-model ${path} is not a file`,
    })
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer)
  return {
    model: basename(path).replace(/\.gguf$/i, ''),
    sha256: hash.digest('hex'),
    path,
    size_bytes: info.size,
    context_size: options.llmContextSize,
    gpu_layers: options.llmGpuLayers ?? (gpu ? 'auto' : 0),
    threads: options.llmThreads,
  }
}
