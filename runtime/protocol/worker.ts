// Wire types shared by the gateway, the scheduler and function hosts.
// Field names follow the deployment guide (snake_case on the wire).

/** Exactly the values the guide's jq commands filter and group on. */
export type WorkerStatus = 'AVAILABLE' | 'BUSY' | 'TEMPORARILY_UNAVAILABLE'

export interface WorkerCapabilities {
  cores: number
  memory_gb: number
  gpu: boolean
  gpu_type?: 'CUDA' | 'MPS'
  gpu_count?: number
  gpu_memory_gb?: number
  /** Host can reach an IB Gateway/TWS. */
  ib: boolean
  /**
   * Host can run local LLM functions (node-llama-cpp): false, true (models from the `models` mount
   * only) or the model it serves (`ktrdr host --llm-model <file>`, KTRDR_LLM_MODEL).
   */
  llm: boolean | LlmCapability
  /** Concurrent invocations this host accepts. */
  slots: number
  /** Free-form labels a function may require (worker_types are matched separately). */
  labels?: string[]
  [key: string]: unknown
}

/** What an `llm` host advertises about the model it serves and how it runs it. */
export interface LlmCapability {
  /** Model id: the file's base name without `.gguf`. */
  model: string
  sha256: string
  /** Where the file is on that host (functions load it from there). */
  path: string
  size_bytes: number
  context_size: number
  /** Layers offloaded to the GPU ('auto': as many as fit; 0 on hosts without a GPU). */
  gpu_layers: 'auto' | number
  /** CPU threads for evaluation. */
  threads: number
}

export interface CompletedOperationReport {
  operation_id: string
  attempt: number
  status: 'completed' | 'failed' | 'cancelled'
  result?: unknown
  error?: OperationErrorInfo | null
  completed_at: string
}

/** Body of POST /api/v1/workers/register. */
export interface WorkerRegistration {
  worker_id: string
  worker_type: string
  endpoint_url: string
  capabilities: WorkerCapabilities
  /** Operations the host is running right now (re-attached after a gateway restart). */
  running_operations?: { operation_id: string; attempt: number }[]
  /** Operations that finished while the gateway could not be told (replayed). */
  completed_operations?: CompletedOperationReport[]
  /** sha256 of bundles the host has unpacked and ready. */
  warm_bundles?: string[]
  host_info?: { pid: number; version: string; started_at: string; hostname?: string }
}

export interface WorkerRecord {
  worker_id: string
  worker_type: string
  endpoint_url: string
  status: WorkerStatus
  capabilities: WorkerCapabilities
  metadata: {
    current_operation: string | null
    current_operations: string[]
    free_slots: number
    draining: boolean
    last_selected: string | null
    warm_bundles: string[]
    host_info?: WorkerRegistration['host_info']
  }
  registered_at: string
  last_health_check: string | null
  last_healthy_at: string | null
  last_heartbeat_at: string | null
  health_check_failures: number
}

/**
 * Header with a host's secret on register, heartbeat and events. The gateway issues the secret at
 * an id's first registration; afterwards only a caller presenting it acts as that id.
 */
export const HOST_SECRET_HEADER = 'x-ktrdr-host-secret'

/** Response of POST /api/v1/workers/register. */
export interface RegistrationResponse extends WorkerRecord {
  /** Issued when the id had no (confirmed) secret yet: keep it and send it as HOST_SECRET_HEADER from now on. */
  host_secret?: string
  heartbeat_interval_ms: number
  /** Operations the host reported as running that the gateway already considers finished: stop them. */
  stop_operations: string[]
}

/** Body of POST /api/v1/workers/:id/heartbeat. 404 means "unknown worker: register again". */
export interface HeartbeatRequest {
  running_operations: { operation_id: string; attempt: number }[]
  free_slots: number
  warm_bundles?: string[]
}
export interface HeartbeatResponse {
  ok: true
  /** Operations the host should cancel (cancel requests it may have missed). */
  cancel: string[]
}

/** Response of GET {host}/health. */
export interface HostHealth {
  healthy: boolean
  service: 'ktrdr-host'
  worker_id: string
  timestamp: string
  status: 'operational' | 'draining'
  worker_status: 'busy' | 'idle'
  current_operation: string | null
  running_operations: string[]
  free_slots: number
  /** How the executor memory cap is enforced on this host (cgroup v2 memory.max or an RSS watchdog). */
  memory_enforcement?: { mode: 'cgroup-v2' | 'rss-watchdog'; limit_mb: number; detail: string }
}

export interface OperationErrorInfo {
  message: string
  code?: string
  /** false: retrying cannot help (bad input, missing data). */
  retryable?: boolean
  details?: unknown
}
