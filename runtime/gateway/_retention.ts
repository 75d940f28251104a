import type { ConsolaInstance } from 'consola'
import type { GatewayDatabase } from './_db.ts'
import type { OperationsService } from './_operations.ts'
import type { RetentionOptions } from './_options.ts'

export interface OperationsRetention {
  /** Deletes finished operations last changed before `now − days`; returns how many. */
  purge(now?: number): number
  /** Purges once now, then every `intervalMs` (unref'd: never keeps the process alive). */
  start(): void
  close(): void
}

const DAY_MS = 86_400_000

/**
 * Finished operations (completed, failed, cancelled) are kept `days` after their last change,
 * then deleted from SQLite; pending and running ones are never touched. `days: 0` disables it.
 * Results and models in storage are not deleted: they belong to the researcher, not the queue.
 */
export function createOperationsRetention(deps: {
  options: RetentionOptions
  database: GatewayDatabase
  operations: Pick<OperationsService, 'flushNow'>
  logger: ConsolaInstance
  now?: () => number
}): OperationsRetention {
  const { options, database, operations, logger } = deps
  const now = deps.now ?? Date.now
  const sqlite = database.sqlite
  sqlite.exec(`CREATE INDEX IF NOT EXISTS operations_status_updated ON operations(status, updated_at)`)
  const del = sqlite.prepare(`DELETE FROM operations WHERE status IN ('completed', 'failed', 'cancelled') AND updated_at < ?`)
  let timer: NodeJS.Timeout | null = null

  const purge = (at = now()) => {
    if (!(options.days > 0)) return 0
    // Deferred state changes first: a row the database still shows as failed may have just been
    // resumed (pending again) in memory, and must not be deleted on the strength of a stale status.
    operations.flushNow()
    const cutoff = new Date(at - options.days * DAY_MS).toISOString()
    const { changes } = del.run(cutoff)
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
        try {
          purge()
        } catch (error) {
          logger.warn(`Retention: purge failed, retrying in ${options.intervalMs / 1000} s: ${(error as Error).message}`)
        }
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
