import type { ConsolaInstance } from 'consola'
import type { CompletedOperationReport, HostEvent, HostEventAck, HostLogEvent } from '../protocol/index.ts'
import { errorInfo } from '../protocol/index.ts'
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
  /**
   * Batches that may be in flight at once (default 1). More than one only over a transport that
   * delivers in order (the host channel): each batch then goes as soon as its events exist, instead
   * of after the previous batch's ack.
   */
  window?: () => number
}

/**
 * Ordered, at-least-once delivery of host events. Every event gets a seq; events stay queued until
 * the gateway acks a seq at or past them, so a gateway that is down for a while receives them all,
 * in order, when it comes back. Unsent progress for an operation is coalesced into the latest;
 * unsent log lines of an operation are merged into one batch that keeps the last
 * MAX_UNSENT_LOG_LINES (older ones counted in `dropped`), so a chatty function cannot fill the
 * host's memory while the gateway is away. seq starts at the wall clock (ms) so a restarted host never reuses the seqs of its predecessor.
 *
 * Batches in flight are settled in the order they were sent: an ack counts only once every batch
 * before it was acked, and the first failure drops the answers of every batch after it and sends
 * everything unacked again (the gateway ignores seqs it already applied).
 */
export function createEventOutbox(options: EventOutboxOptions) {
  const queue: OutboxEvent[] = []
  let seq = Date.now()
  /** Highest seq sent in the current round; events at or below it must not be rewritten. */
  let sentUpTo = 0
  interface Flight {
    upTo: number
    round: number
    outcome?: { ack: HostEventAck } | { error: unknown }
  }
  let flights: Flight[] = []
  /** Bumped at every failure: answers of an earlier round no longer count. */
  let round = 0
  let backingOff = false
  let delay = 0
  let stopped = false
  let pumpScheduled = false
  let wake: (() => void) | null = null
  const idleWaiters: Array<() => void> = []
  const retry = options.retry ?? { initialMs: 100, maxMs: 2000 }
  delay = retry.initialMs

  function push(event: NewHostEvent) {
    if (event.type === 'progress' || event.type === 'log') {
      for (let i = queue.length - 1; i >= 0; i--) {
        const queued = queue[i]!
        if (queued.seq <= sentUpTo) break
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
    // The event is the caller's new object and becomes the queued one: `{ ...event, seq }` made a
    // copy key by key, 0.5 µs per event on Node 20 (two events per call).
    const queued = event as OutboxEvent
    queued.seq = ++seq
    queue.push(queued)
    // Events of one tick (started and the first progress, a result and the next dispatch's start)
    // go as one batch.
    if (!pumpScheduled) {
      pumpScheduled = true
      queueMicrotask(() => {
        pumpScheduled = false
        pump()
      })
    }
  }

  function kick() {
    if (wake) {
      const w = wake
      wake = null
      w()
      return
    }
    pump()
  }

  /**
   * The next events to send from `start`: up to maxBatch, and no more than BATCH_BYTES of log text
   * (one event at least), so a batch stays well inside the gateway's body cap.
   */
  function nextBatch(start: number): OutboxEvent[] {
    const max = options.maxBatch ?? 200
    let bytes = 0
    let i = start
    for (; i < queue.length && i - start < max; i++) {
      const e = queue[i]!
      if (e.type === 'log') bytes += e.lines.reduce((sum, line) => sum + lineBytes(line.message), 0)
      if (i > start && bytes > BATCH_BYTES) break
    }
    return queue.slice(start, Math.max(start + 1, i))
  }

  /** Sends what is unsent while the window has room. */
  function pump() {
    if (stopped || backingOff) return
    const room = Math.max(1, options.window?.() ?? 1)
    while (flights.length < room) {
      let start = 0
      while (start < queue.length && queue[start]!.seq <= sentUpTo) start++
      if (start >= queue.length) break
      const batch = nextBatch(start)
      const flight: Flight = { upTo: batch[batch.length - 1]!.seq, round }
      sentUpTo = flight.upTo
      flights.push(flight)
      options.send(batch).then(
        (ack) => settle(flight, { ack }),
        (error) => settle(flight, { error }),
      )
    }
    if (queue.length === 0 && flights.length === 0) idleWaiters.splice(0).forEach((w) => w())
  }

  function settle(flight: Flight, outcome: NonNullable<Flight['outcome']>) {
    if (flight.round !== round) return
    flight.outcome = outcome
    while (flights[0]?.outcome) {
      const head = flights.shift()!
      if ('error' in head.outcome!) return fail(head.outcome.error)
      const ack = head.outcome!.ack
      const acked = typeof ack?.acked_seq === 'number' ? ack.acked_seq : head.upTo
      while (queue.length > 0 && queue[0]!.seq <= acked) queue.shift()
      delay = retry.initialMs
    }
    pump()
  }

  function fail(error: unknown) {
    round++
    flights = []
    sentUpTo = 0
    backingOff = true
    const resume = () => {
      backingOff = false
      pump()
    }
    if (error instanceof UnknownWorkerError) {
      void options
        .onUnknownWorker()
        .catch(() => {})
        .then(resume)
      return
    }
    options.logger.debug(`Event push failed (${(error as Error).message}); ${queue.length} events kept, retrying in ${delay} ms`)
    const timer = setTimeout(() => {
      wake = null
      resume()
    }, delay)
    timer.unref()
    wake = () => {
      clearTimeout(timer)
      resume()
    }
    delay = Math.min(retry.maxMs, delay * 2)
  }

  return {
    /** Queues a new event object, which the outbox keeps (and numbers): don't reuse it. */
    push,
    /** Resolves once everything queued so far has been acked (or immediately when empty). */
    drained(): Promise<void> {
      if (queue.length === 0 && flights.length === 0) return Promise.resolve()
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
            error: e.reason ? errorInfo('CANCELLED', e.reason) : null,
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
        if (e.seq > sentUpTo && done.has(`${e.operation_id}#${e.attempt}`)) queue.splice(i, 1)
      }
    },
    /** Retry now (after re-registration). */
    kick,
    stop() {
      stopped = true
      wake = null
    },
  }
}

export type EventOutbox = ReturnType<typeof createEventOutbox>
