import type { ConsolaInstance } from 'consola'
import type { OperationsService } from './_operations.ts'
import type { RetentionOptions } from './_options.ts'

export interface OperationsRetention {
  /** Deletes finished operations last changed before `now − days`; resolves with how many. */
  purge(now?: number): Promise<number>
  /** Purges once now, then every `intervalMs` (unref'd: never keeps the process alive). */
  start(): void
  close(): void
}

const DAY_MS = 86_400_000

/**
 * Finished operations (completed, failed, cancelled) are kept `days` after their last change,
 * then deleted from the database; pending and running ones are never touched. `days: 0` disables it.
 * Results and models in storage are not deleted: they belong to the researcher, not the queue.
 */
export function createOperationsRetention(deps: {
  options: RetentionOptions
  operations: Pick<OperationsService, 'purgeFinished'>
  logger: ConsolaInstance
  now?: () => number
}): OperationsRetention {
  const { options, operations, logger } = deps
  const now = deps.now ?? Date.now
  let timer: NodeJS.Timeout | null = null

  const purge = async (at = now()) => {
    if (!(options.days > 0)) return 0
    // The store writes deferred state changes first: a row the database still shows as failed may
    // have just been resumed (pending again) in memory, and must not be deleted on a stale status.
    const cutoff = new Date(at - options.days * DAY_MS).toISOString()
    const changes = await operations.purgeFinished(cutoff)
    if (changes > 0)
      logger.info(
        `Retention: deleted ${changes} finished operation(s) last changed before ${cutoff} (KTRDR_OPERATIONS_RETENTION_DAYS=${options.days})`,
      )
    return changes
  }

  return {
    purge,
    start() {
      if (!(options.days > 0) || timer) return
      const run = () => {
        purge().catch((error: Error) =>
          logger.warn(`Retention: purge failed, retrying in ${options.intervalMs / 1000} s: ${error.message}`),
        )
      }
      run()
      timer = setInterval(run, options.intervalMs)
      timer.unref()
    },
    close() {
      if (timer) clearInterval(timer)
      timer = null
    },
  }
}
