// A host's side of operation logs: lines split from pipes, batched per attempt, and bounded in the
// outbox while the gateway cannot take them, always ahead of the attempt's terminal event.
import { consola } from 'consola'
import { describe, expect, it } from 'vitest'
import type { HostLogEvent } from '../../protocol/index.ts'
import { createEventOutbox, type NewHostEvent, type OutboxEvent } from '../_events.ts'
import {
  LOG_BATCH_LINES,
  MAX_OUTPUT_LINE_CHARS,
  MAX_UNSENT_LOG_BYTES,
  MAX_UNSENT_LOG_LINES,
  createLineSplitter,
  createLogCollector,
} from '../_logs.ts'

describe('line splitter', () => {
  it('joins lines across chunks, drops \\r, flushes the unterminated rest and cuts endless lines', () => {
    const lines: string[] = []
    const split = createLineSplitter((l) => lines.push(l))
    split.write('a\r\nb')
    expect(lines).toEqual(['a'])
    split.write('c\nd')
    expect(lines).toEqual(['a', 'bc'])
    split.write('\n')
    split.end()
    expect(lines).toEqual(['a', 'bc', 'd'])
    split.write('x'.repeat(MAX_OUTPUT_LINE_CHARS * 3))
    split.end()
    expect(lines.length).toBe(4)
    expect(lines[3]!.startsWith('x'.repeat(MAX_OUTPUT_LINE_CHARS))).toBe(true)
    expect(lines[3]).toMatch(/more characters\]$/)
  })
})

describe('log collector', () => {
  it('numbers lines per attempt, sends a batch once full or on close, never one per line', async () => {
    const events: NewHostEvent[] = []
    const logs = createLogCollector((e) => events.push(e), { operation_id: 'op1', attempt: 2 })
    for (let i = 0; i < LOG_BATCH_LINES + 3; i++) logs.add('stdout', 'info', `l${i}`)
    expect(events).toHaveLength(1)
    logs.close()
    expect(events).toHaveLength(2)
    const lines = events.flatMap((e) => (e as HostLogEvent).lines)
    expect(lines.map((l) => l.n)).toEqual(Array.from({ length: LOG_BATCH_LINES + 3 }, (_, i) => i + 1))
    expect(events.every((e) => e.type === 'log' && e.attempt === 2)).toBe(true)
    logs.add('stdout', 'info', 'after close')
    expect(events).toHaveLength(2)
  })

  it('sends a partial batch after a short wait', async () => {
    const events: NewHostEvent[] = []
    const sent = new Promise<void>((resolve) => {
      const logs = createLogCollector(
        (e) => {
          events.push(e)
          resolve()
        },
        { operation_id: 'op1', attempt: 1 },
      )
      logs.add('logger', 'warn', 'one')
    })
    await sent
    expect((events[0] as HostLogEvent).lines.map((l) => [l.stream, l.level, l.message])).toEqual([['logger', 'warn', 'one']])
  })
})

describe('outbox with logs', () => {
  it('keeps the newest lines within its bounds while the gateway is down, counts the rest, and delivers them before the terminal event', async () => {
    const delivered: OutboxEvent[] = []
    let up = false
    let release!: () => void
    const back = new Promise<void>((r) => (release = r))
    const outbox = createEventOutbox({
      logger: consola.withTag('test'),
      retry: { initialMs: 5, maxMs: 10 },
      onUnknownWorker: async () => {},
      async send(events) {
        if (!up) {
          await back
          throw new Error('gateway down')
        }
        delivered.push(...structuredClone(events))
        return { acked_seq: events.at(-1)!.seq }
      },
    })
    const base = { operation_id: 'op1', attempt: 1, at: new Date().toISOString() }
    outbox.push({ type: 'started', ...base })
    let n = 0
    const batch = (size: number, text = 'x') =>
      Array.from({ length: size }, () => ({ n: ++n, ts: base.at, level: 'info', stream: 'stdout' as const, message: text }))
    // 10 000 short lines interleaved with progress: the outbox keeps the last MAX_UNSENT_LOG_LINES.
    for (let i = 0; i < 50; i++) {
      outbox.push({ type: 'log', ...base, lines: batch(200) })
      outbox.push({ type: 'progress', ...base, progress: { percentage: i * 2, current_step: null, context: {} } })
    }
    // Long lines: the byte bound.
    outbox.push({ type: 'log', ...base, lines: batch(200, 'y'.repeat(4000)) })
    outbox.push({ type: 'completed', ...base, result: 1 })
    up = true
    release()
    await outbox.drained()
    outbox.stop()
    expect(delivered.map((e) => e.type)).toEqual(['started', 'log', 'progress', 'completed'])
    const logs = delivered.filter((e): e is HostLogEvent => e.type === 'log')
    const lines = logs.flatMap((e) => e.lines)
    const bytes = lines.reduce((s, l) => s + Buffer.byteLength(l.message) + 96, 0)
    expect(lines.length).toBeLessThanOrEqual(MAX_UNSENT_LOG_LINES)
    expect(bytes).toBeLessThanOrEqual(MAX_UNSENT_LOG_BYTES)
    expect(lines.at(-1)!.n).toBe(n)
    // Newest kept, in order, the rest counted.
    expect(lines.map((l) => l.n)).toEqual(Array.from({ length: lines.length }, (_, i) => n - lines.length + 1 + i))
    expect(logs.reduce((s, e) => s + (e.dropped ?? 0), 0)).toBe(n - lines.length)
  })
})
