import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { WorkerCapabilities } from '../protocol/index.ts'
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
    llm: options.llm,
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
