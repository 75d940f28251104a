import type { ConsolaInstance } from 'consola'
import type { CompletedOperationReport, HostEvent, HostEventAck, HostLogEvent } from '../protocol/index.ts'
import { MAX_UNSENT_LOG_BYTES, MAX_UNSENT_LOG_LINES, lineBytes } from './_logs.ts'

/** What the outbox carries: state events and log batches, in one ordered sequence. */
export type OutboxEvent = HostEvent | HostLogEvent
type Unsequenced<E> = E extends OutboxEvent ? Omit<E, 'seq'> : never
export type NewHostEvent = Unsequenced<OutboxEvent>

/** Log text per push: twice MAX_UNSENT_LOG_BYTES, half the gateway's default 1 MiB body cap. */
const BATCH_BYTES = 2 * MAX_UNSENT_LOG_BYTES

export class UnknownWorkerError extends Error {}

export interface EventOutboxOptions {
  /** Delivers a batch; resolves with the ack, throws UnknownWorkerError on 404. */
  send(events: OutboxEvent[]): Promise<HostEventAck>
  /** The gateway forgot this worker: re-register before pushing again. */
  onUnknownWorker(): Promise<void>
  logger: ConsolaInstance
  maxBatch?: number
  retry?: { initialMs: number; maxMs: number }
}

/**
 * Ordered, at-least-once delivery of host events. Every event gets a seq; events stay queued until
 * the gateway acks a seq at or past them, so a gateway that is down for a while receives them all,
 * in order, when it comes back. Unsent progress for an operation is coalesced into the latest;
 * unsent log lines of an operation are merged into one batch that keeps the last
 * MAX_UNSENT_LOG_LINES (older ones counted in `dropped`), so a chatty function cannot fill the
 * host's memory while the gateway is away. seq starts at the wall clock (ms) so a restarted host never reuses the seqs of its predecessor.
 */
export function createEventOutbox(options: EventOutboxOptions) {
  const queue: OutboxEvent[] = []
  let seq = Date.now()
  /** Highest seq in the batch being sent; events at or below it must not be rewritten. */
  let inFlightUpTo = 0
  let running = false
  let stopped = false
  let wake: (() => void) | null = null
  const idleWaiters: Array<() => void> = []
  const retry = options.retry ?? { initialMs: 100, maxMs: 2000 }

  function push(event: NewHostEvent) {
    if (event.type === 'progress' || event.type === 'log') {
      for (let i = queue.length - 1; i >= 0; i--) {
        const queued = queue[i]!
        if (queued.seq <= inFlightUpTo) break
        if (queued.operation_id !== event.operation_id) continue
        // Logs and progress are independent: each coalesces past the other (only a state event
        // of the operation stops it, so lines still arrive before the attempt's terminal event).
        if (queued.type !== event.type && (queued.type === 'log' || queued.type === 'progress')) continue
        if (queued.type === 'progress' && event.type === 'progress' && queued.attempt === event.attempt) {
          queued.progress = event.progress
          queued.at = event.at
          return
        }
        if (queued.type === 'log' && event.type === 'log' && queued.attempt === event.attempt) {
          queued.lines.push(...event.lines)
          queued.dropped = (queued.dropped ?? 0) + (event.dropped ?? 0)
          let bytes = queued.lines.reduce((sum, line) => sum + lineBytes(line.message), 0)
          let over = 0
          while (over < queued.lines.length - 1 && (queued.lines.length - over > MAX_UNSENT_LOG_LINES || bytes > MAX_UNSENT_LOG_BYTES))
            bytes -= lineBytes(queued.lines[over++]!.message)
          if (over > 0) {
            queued.lines.splice(0, over)
            queued.dropped += over
          }
          queued.at = event.at
          return
        }
        break
      }
    }
    queue.push({ ...event, seq: ++seq } as OutboxEvent)
    kick()
  }

  /**
   * The next events to send: up to maxBatch, and no more than BATCH_BYTES of log text (one event
   * at least), so a batch stays well inside the gateway's body cap.
   */
  function nextBatch(): OutboxEvent[] {
    const max = options.maxBatch ?? 200
    let bytes = 0
    let i = 0
    for (; i < queue.length && i < max; i++) {
      const e = queue[i]!
      if (e.type === 'log') bytes += e.lines.reduce((sum, line) => sum + lineBytes(line.message), 0)
      if (i > 0 && bytes > BATCH_BYTES) break
    }
    return queue.slice(0, Math.max(1, i))
  }

  function kick() {
    if (wake) {
      const w = wake
      wake = null
      w()
    }
    if (!running && !stopped) void loop()
  }

  async function loop() {
    running = true
    let delay = retry.initialMs
    try {
      while (queue.length > 0 && !stopped) {
        const batch = nextBatch()
        inFlightUpTo = batch[batch.length - 1]!.seq
        try {
          const ack = await options.send(batch)
          const acked = typeof ack?.acked_seq === 'number' ? ack.acked_seq : inFlightUpTo
          while (queue.length > 0 && queue[0]!.seq <= acked) queue.shift()
          delay = retry.initialMs
        } catch (error) {
          if (error instanceof UnknownWorkerError) {
            await options.onUnknownWorker().catch(() => {})
          } else {
            options.logger.debug(`Event push failed (${(error as Error).message}); ${queue.length} events kept, retrying in ${delay} ms`)
            await new Promise<void>((resolve) => {
              wake = resolve
              setTimeout(resolve, delay).unref()
            })
            wake = null
            delay = Math.min(retry.maxMs, delay * 2)
          }
        } finally {
          inFlightUpTo = 0
        }
      }
    } finally {
      running = false
      if (queue.length === 0) idleWaiters.splice(0).forEach((w) => w())
    }
  }

  return {
    push,
    /** Resolves once everything queued so far has been acked (or immediately when empty). */
    drained(): Promise<void> {
      if (queue.length === 0) return Promise.resolve()
      return new Promise((resolve) => idleWaiters.push(resolve))
    },
    pending: () => queue.length,
    /** Terminal events not yet acked: reported as completed_operations when registering again. */
    unackedCompletions(): CompletedOperationReport[] {
      const out: CompletedOperationReport[] = []
      for (const e of queue) {
        if (e.type === 'completed')
          out.push({
            operation_id: e.operation_id,
            attempt: e.attempt,
            status: 'completed',
            result: e.result,
            error: null,
            completed_at: e.at,
          })
        else if (e.type === 'failed')
          out.push({ operation_id: e.operation_id, attempt: e.attempt, status: 'failed', error: e.error, completed_at: e.at })
        else if (e.type === 'cancelled')
          out.push({
            operation_id: e.operation_id,
            attempt: e.attempt,
            status: 'cancelled',
            error: e.reason ? { message: e.reason, code: 'CANCELLED' } : null,
            completed_at: e.at,
          })
      }
      return out
    },
    /** The registration that reported these operations delivered them: drop their queued events. */
    markReported(reports: CompletedOperationReport[]) {
      const done = new Set(reports.map((r) => `${r.operation_id}#${r.attempt}`))
      for (let i = queue.length - 1; i >= 0; i--) {
        const e = queue[i]!
        if (e.seq > inFlightUpTo && done.has(`${e.operation_id}#${e.attempt}`)) queue.splice(i, 1)
      }
    },
    /** Retry now (after re-registration). */
    kick,
    stop() {
      stopped = true
      if (wake) wake()
    },
  }
}

export type EventOutbox = ReturnType<typeof createEventOutbox>
