// Operation logs at the gateway: what hosts push as `log` events is stored once per line, bounded
// per operation, served as a page or followed as SSE, carried on the operation's event stream, and
// deleted with its operation. Hosts here are fakes pushing real HTTP events.
import { afterEach, describe, expect, it } from 'vitest'
import type { HostLogEvent, LogLine, Operation, OperationLogLine } from '../../protocol/index.ts'
import { startFakeHost, startTestGateway, until, type TestGateway } from '../../../test/kit/index.ts'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function running(config: Parameters<typeof startTestGateway>[0] = {}) {
  const g = await startTestGateway(config)
  cleanups.push(() => g.close())
  const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'h' })
  cleanups.push(() => h.close())
  hosts.set('h', h.asHost)
  const op = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } } })).body
  await until(async () => (await g.api<Operation>(`/api/v1/operations/${op.operation_id}`)).body.status === 'running')
  return { g, h, id: op.operation_id }
}

const hosts = new Map<string, Record<string, string>>()
let seq = 1000
const line = (n: number, message = `line ${n}`, extra: Partial<LogLine> = {}): LogLine => ({
  n,
  ts: new Date().toISOString(),
  level: 'info',
  stream: 'logger',
  message,
  ...extra,
})
function push(g: TestGateway, id: string, lines: LogLine[], extra: Partial<HostLogEvent> = {}, worker = 'h') {
  const event: HostLogEvent = { seq: ++seq, type: 'log', operation_id: id, attempt: 1, at: new Date().toISOString(), lines, ...extra }
  return g.api(`/api/v1/workers/${worker}/events`, { body: { events: [event] }, headers: hosts.get(worker) })
}
const logs = (g: TestGateway, id: string, query = '') =>
  g.api<{ data: OperationLogLine[]; total_count: number; limit: number; offset: number }>(`/api/v1/operations/${id}/logs${query}`)

/** Reads an SSE body until it ends: [event, data] pairs. */
async function sse(res: Response, onEvent?: (event: string, data: any) => void): Promise<Array<[string, any]>> {
  const out: Array<[string, any]> = []
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let cut: number
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message'
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!)
      out.push([event, data])
      onEvent?.(event, data)
    }
  }
  return out
}

describe('operation logs', () => {
  it('stores each line once, in order, and serves pages in the list envelope', async () => {
    const { g, id } = await running()
    expect((await push(g, id, [line(1), line(2, 'two', { stream: 'stdout' })])).status).toBe(200)
    // The same batch again (an ack that never reached the host): nothing doubles.
    await push(g, id, [line(1), line(2, 'two', { stream: 'stdout' }), line(3, 'three', { stream: 'stderr', level: 'error' })])
    const page = (await logs(g, id)).body
    expect(page.total_count).toBe(3)
    expect(page.data.map((l) => [l.n, l.stream, l.level, l.message])).toEqual([
      [1, 'logger', 'info', 'line 1'],
      [2, 'stdout', 'info', 'two'],
      [3, 'stderr', 'error', 'three'],
    ])
    expect(page.data.every((l) => l.attempt === 1)).toBe(true)
    expect((await logs(g, id, '?limit=1&offset=1')).body).toMatchObject({ total_count: 3, limit: 1, offset: 1, data: [{ n: 2 }] })
    expect((await logs(g, id, `?after=${page.data[1]!.id}`)).body.data.map((l) => l.n)).toEqual([3])
    expect((await logs(g, id, '?limit=0')).status).toBe(400)
    expect((await logs(g, 'op_nope')).status).toBe(404)
  })

  it('records lines the host dropped, and refuses malformed lines and lines from a host the operation is not on', async () => {
    const { g, id } = await running()
    await push(g, id, [line(40), line(41)], { dropped: 39 })
    expect((await logs(g, id)).body.data.map((l) => l.message)).toEqual([
      '… 39 line(s) dropped by the host: more than it keeps unsent per operation',
      'line 40',
      'line 41',
    ])
    const bad = await push(g, id, [{ ...line(42), stream: 'tty' as never }])
    expect(bad.status).toBe(400)
    expect(bad.body.message).toMatch(/events\[0\]\.lines\[0\]/)
    const other = await startFakeHost({ gatewayUrl: g.url, workerId: 'other' })
    cleanups.push(() => other.close())
    hosts.set('other', other.asHost)
    expect((await push(g, id, [line(43)], {}, 'other')).status).toBe(200)
    expect((await logs(g, id)).body.total_count).toBe(3)
  })

  it('keeps the newest lines within KTRDR_OPERATION_LOG_LINES and _KB', async () => {
    const { g, id } = await running({ logs: { maxLines: 5, maxBytes: 1000 } })
    await push(
      g,
      id,
      Array.from({ length: 8 }, (_, i) => line(i + 1)),
    )
    expect((await logs(g, id)).body.data.map((l) => l.n)).toEqual([4, 5, 6, 7, 8])
    // 3 lines of 400 bytes: only the last two fit in 1000.
    await push(
      g,
      id,
      [9, 10, 11].map((n) => line(n, 'x'.repeat(400))),
    )
    expect((await logs(g, id)).body.data.map((l) => l.n)).toEqual([10, 11])
  })

  it('follows: the backlog, each new line as it is pushed, then the final state; /events carries log lines too', async () => {
    const { g, h, id } = await running()
    await push(g, id, [line(1)])
    const follow = await fetch(`${g.url}/api/v1/operations/${id}/logs?follow=1`)
    expect(follow.headers.get('content-type')).toMatch(/text\/event-stream/)
    const events = await fetch(`${g.url}/api/v1/operations/${id}/events`)
    const seen: string[] = []
    const followed = sse(follow, (event, data) => {
      seen.push(`${event}:${data.n ?? data.status}`)
      // Each line pushed only after the previous one came back: they stream, they are not collected at the end.
      if (event === 'log' && data.n < 4) void push(g, id, [line(data.n + 1)])
      if (event === 'log' && data.n === 4) void g.api(`/api/v1/operations/${id}`, { method: 'DELETE' })
    })
    const all = await followed
    expect(seen).toEqual(['log:1', 'log:2', 'log:3', 'log:4', 'cancelled:cancelled'])
    expect(all.at(-1)![1].operation_id).toBe(id)
    const onEvents = await sse(events)
    expect(onEvents.filter(([e]) => e === 'log').map(([, d]) => d.n)).toEqual([2, 3, 4])
    expect(onEvents.at(-1)![0]).toBe('cancelled')
    // A finished operation: the whole log, then its state, and the stream ends.
    const again = await sse(await fetch(`${g.url}/api/v1/operations/${id}/logs?follow=1`))
    expect(again.map(([e, d]) => `${e}:${d.n ?? d.status}`)).toEqual(['log:1', 'log:2', 'log:3', 'log:4', 'cancelled:cancelled'])
    // Resuming with Last-Event-ID sends only what came after.
    const resumed = await sse(
      await fetch(`${g.url}/api/v1/operations/${id}/logs?follow=1`, { headers: { 'last-event-id': String(again[1]![1].id) } }),
    )
    expect(resumed.map(([e, d]) => `${e}:${d.n ?? d.status}`)).toEqual(['log:3', 'log:4', 'cancelled:cancelled'])
    void h
  })

  it('/events keeps the host’s order: lines sent before a progress report come before it', async () => {
    const { g, id } = await running()
    const events = fetch(`${g.url}/api/v1/operations/${id}/events`)
    const seen: string[] = []
    let cancel: Promise<unknown> | undefined
    const done = sse(await events, (event, data) => {
      seen.push(event === 'log' ? `log:${data.message}` : `${event}:${data.status}:${data.progress.current_step}`)
      if (event === 'progress' && data.progress.current_step === 'after') cancel = g.api(`/api/v1/operations/${id}`, { method: 'DELETE' })
    })
    // One batch, as a host sends a line and the progress report it logged before.
    const at = new Date().toISOString()
    await g.api(`/api/v1/workers/h/events`, {
      body: {
        events: [
          { seq: ++seq, type: 'log', operation_id: id, attempt: 1, at, lines: [line(1, 'before')] },
          { seq: ++seq, type: 'progress', operation_id: id, attempt: 1, at, progress: { percentage: 50, current_step: 'after' } },
        ],
      },
      headers: hosts.get('h'),
    })
    await done
    expect((await cancel) as { status: number }).toMatchObject({ status: 200 })
    expect(seen).toEqual(['state:running:null', 'log:before', 'progress:running:after', 'cancelled:cancelled:after'])
  })

  it('are deleted with their operation by retention', async () => {
    const { g, id } = await running({ retention: { days: 1 } })
    await push(g, id, [line(1), line(2)])
    await g.api(`/api/v1/operations/${id}`, { method: 'DELETE' })
    await g.gateway.services.operations.flushed()
    const count = async () => (await g.gateway.services.database.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM operation_logs'))!.n
    expect(await count()).toBe(2)
    expect(await g.gateway.services.retention.purge(Date.now() + 2 * 86_400_000)).toBe(1)
    expect(await count()).toBe(0)
  })
})
