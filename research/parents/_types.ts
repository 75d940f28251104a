import type { Operation, OperationStatus } from '../../runtime/protocol/index.ts'

export type ParentStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled'

/**
 * What every fan-out parent (a walk-forward, a sweep) keeps about its children: which operation
 * each task started, and which of them finished and were read. The rest of a record is its kind's.
 */
export interface ParentRecord {
  operation_id: string
  operation_type: string
  status: ParentStatus
  created_at: string
  updated_at: string
  started_at: string | null
  completed_at: string | null
  /** Task key → the child operation started for it (one per key, whatever happens). */
  children: Record<string, string>
  /** Task key → the final status of its child, once the parent has read its result. */
  settled: Record<string, OperationStatus>
  error: { message: string; code?: string } | null
  /** Time spent orchestrating (deciding, invoking, recording), children's own compute excluded. */
  orchestration_ms: number
}

/** One child to start: the function, its input, and metadata recorded on the operation. */
export interface ChildTask {
  key: string
  fn: string
  input: Record<string, unknown>
  metadata?: Record<string, unknown>
}

/** What a kind of parent tells the runner; everything else (durability, watching, cancel) is the runner's. */
export interface ParentSpec<R extends ParentRecord> {
  /** Row kind in `research_parents` and the operation type (`op_<kind>_…` ids). */
  kind: string
  /**
   * The tasks whose inputs are known now, in the order they should start; settled and started ones are
   * skipped. A task once listed stays listed (with the same key) until it is started: a restarted
   * gateway whose row did not name a started child yet starts it again and its idempotency key
   * returns that child. Read lazily: the runner stops at the first it has no slot for.
   */
  tasks(record: R): Iterable<ChildTask>
  /** How many tasks the parent runs in all (its progress is settled / total). */
  total(record: R): number
  /** A child finished: keep what the parent needs of it. Throwing fails the parent (its live children are cancelled). */
  settle(record: R, key: string, op: Operation): void | Promise<void>
  /** Every task settled: aggregate and store the results. Throwing fails the parent. */
  complete(record: R): Promise<void>
  /** Children running at once; null: the slots of the registered hosts. */
  parallel(record: R): number | null
}
