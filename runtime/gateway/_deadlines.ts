import type { ConsolaInstance } from 'consola'
import { errorInfo } from '../protocol/index.ts'
import type { Dispatcher } from './_dispatcher.ts'
import type { QueueOptions } from './_options.ts'
import type { OperationsService } from './_operations.ts'

export interface DeadlineSweeper {
  /** Fails running operations past their timeout plus the grace; returns their ids. */
  sweep(now?: number): string[]
  /** Sweeps every second (unref'd: never keeps the process alive). */
  start(): void
  close(): void
}

const SWEEP_MS = 1000

/**
 * Running operations far past their timeout: the host should have failed them (it enforces the
 * deadline it was given) but may be wedged or partitioned; the gateway settles them and tells the
 * host to stop.
 */
export function createDeadlineSweeper(deps: {
  options: Pick<QueueOptions, 'deadlineGraceMs'>
  operations: Pick<OperationsService, 'liveOperations' | 'fail'>
  dispatcher: Pick<Dispatcher, 'forwardCancel'>
  logger: ConsolaInstance
  now?: () => number
}): DeadlineSweeper {
  const { operations, dispatcher, logger } = deps
  const grace = deps.options.deadlineGraceMs
  let timer: NodeJS.Timeout | null = null

  function sweep(at = (deps.now ?? Date.now)()): string[] {
    const overdue = []
    for (const s of operations.liveOperations()) {
      if (s.op.status !== 'running' || !s.op.timings.placed_at) continue
      if (at <= Date.parse(s.op.timings.placed_at) + s.plan.function.timeout_seconds * 1000 + grace) continue
      overdue.push(s)
    }
    // Collected first: failing an operation removes it from the live set being iterated.
    for (const s of overdue) {
      const workerId = s.op.worker_id
      const timeout = s.plan.function.timeout_seconds
      logger.warn(`Operation ${s.op.operation_id} has no result ${Math.round(grace / 1000)} s after its ${timeout} s timeout; failing it`)
      operations.fail(
        s,
        errorInfo(
          'FUNCTION_TIMEOUT',
          `No result from host ${workerId} ${Math.round(grace / 1000)} s after the function's ${timeout} s timeout; the gateway failed the operation`,
        ),
      )
      dispatcher.forwardCancel(workerId, s.op.operation_id)
    }
    return overdue.map((s) => s.op.operation_id)
  }

  return {
    sweep,
    start() {
      timer = setInterval(() => sweep(), SWEEP_MS)
      timer.unref()
    },
    close() {
      if (timer) clearInterval(timer)
    },
  }
}
