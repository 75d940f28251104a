import type { OperationErrorInfo } from './worker.ts'

export type OperationStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled'
export const TERMINAL_STATUSES: readonly OperationStatus[] = ['completed', 'failed', 'cancelled']

export interface OperationProgress {
  percentage: number
  current_step: string | null
  context: Record<string, unknown>
}

/** Wall-clock marks of one invocation's life (ISO strings); see docs/architecture.md. */
export interface OperationTimings {
  queued_at: string
  placed_at: string | null
  /** When the host took the dispatch (its clock); absent from hosts older than this field. */
  accepted_at?: string | null
  bundle_ready_at: string | null
  started_at: string | null
  finished_at: string | null
}

/** GET /api/v1/operations/:id returns this object at top level. */
export interface Operation {
  operation_id: string
  operation_type: string
  status: OperationStatus
  function: { name: string; version: number; sha256: string; requested: string }
  input: unknown
  progress: OperationProgress
  result: unknown
  error: OperationErrorInfo | null
  worker_id: string | null
  attempts: number
  max_attempts: number
  priority: number
  idempotency_key: string | null
  placement: { prefer_gpu: boolean; require_gpu: boolean }
  created_at: string
  started_at: string | null
  completed_at: string | null
  updated_at: string
  timings: OperationTimings
  metadata: Record<string, unknown>
  /** The operation this one is a step of (a research loop's design, training, …); null for top-level work. */
  parent_operation_id?: string | null
}

/** Events a host pushes to POST /api/v1/workers/:id/events, in order, until acknowledged. */
export type HostEvent =
  | { seq: number; type: 'started'; operation_id: string; attempt: number; at: string; bundle_ready_at?: string; accepted_at?: string }
  | { seq: number; type: 'progress'; operation_id: string; attempt: number; at: string; progress: OperationProgress }
  | { seq: number; type: 'completed'; operation_id: string; attempt: number; at: string; result: unknown }
  | { seq: number; type: 'failed'; operation_id: string; attempt: number; at: string; error: OperationErrorInfo }
  /** `requeue`: the host gave the work back (it is shutting down), so the gateway runs it again elsewhere. */
  | { seq: number; type: 'cancelled'; operation_id: string; attempt: number; at: string; reason?: string; requeue?: boolean }

/** Where a log line came from: the function's `ctx.logger`, or what its process wrote to stdout/stderr. */
export type LogStream = 'logger' | 'stdout' | 'stderr'

/** One line of what a function wrote while it ran (docs/operations.md#logs). */
export interface LogLine {
  /** Line number within the attempt, from 1 (a gap: lines the host dropped). */
  n: number
  /** ISO time the host saw it. */
  ts: string
  /** consola's level names for `logger` lines (error, warn, info, debug…); `info`/`error` for stdout/stderr. */
  level: string
  stream: LogStream
  message: string
}

/**
 * What a function wrote, batched by the host (every LOG_FLUSH_MS or LOG_BATCH_LINES lines, and
 * always before the attempt's terminal event). `dropped`: lines the host discarded before this
 * batch because more piled up unsent than it keeps per operation.
 */
export interface HostLogEvent {
  seq: number
  type: 'log'
  operation_id: string
  attempt: number
  at: string
  lines: LogLine[]
  dropped?: number
}

/** A stored line as GET /api/v1/operations/:id/logs serves it: `id` orders all lines of the operation (and resumes a follow). */
export interface OperationLogLine extends LogLine {
  id: number
  attempt: number
}

export interface HostEventBatch {
  events: Array<HostEvent | HostLogEvent>
}
export interface HostEventAck {
  acked_seq: number
}

/** Body of POST {host}/invocations (gateway → host). 202 accepted; 503 no free slot / draining. */
export interface DispatchRequest {
  operation_id: string
  attempt: number
  function: FunctionRef
  input: unknown
  /** Epoch ms after which the host must abort the invocation. */
  deadline_ms: number
  /**
   * The function's secrets (`ktrdr secret set`), as environment variables of its executors only.
   * Sent over the cluster-token channel with each dispatch; never stored in operations or logged.
   */
  secrets?: Record<string, string>
}

export interface FunctionRef {
  name: string
  version: number
  sha256: string
  /** Key of the archive in the `bundles` storage mount. */
  bundle_key: string
  timeout_seconds: number
}

/** Body of POST /api/v1/functions/:name/invoke (the gateway's compat routes build one; the client channel carries it with `function`). */
export interface InvokeRequest {
  input?: unknown
  version?: number | string
  idempotency_key?: string
  wait_seconds?: number
  prefer_gpu?: boolean
  require_gpu?: boolean
  priority?: number
  /** false: answer 503 instead of queueing when no capable host has a free slot now. */
  queue?: boolean
  /** Attempts allowed when hosts die under the operation; default: the function's max_attempts. */
  max_attempts?: number
  metadata?: Record<string, unknown>
  /** The operation this one is a step of: listed by GET /api/v1/operations/:id/children, cancelled with it. */
  parent_operation_id?: string
}
