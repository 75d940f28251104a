// The CLI's event follower against real servers on loopback: a bare SSE server that breaks its
// stream on purpose, and a test gateway whose operation a fake host runs.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startFakeHost, startTestGateway, type TestGateway } from '../../../test/kit/index.ts'
import type { Operation } from '../../protocol/index.ts'
import { createGatewayClient, followEvents, followOperation, GatewayClientError, parseEventStream, type ServerSentEvent } from '../index.ts'

async function* chunks(...parts: string[]) {
  for (const p of parts) yield new TextEncoder().encode(p)
}
async function collect(events: AsyncIterable<ServerSentEvent>, max = Number.POSITIVE_INFINITY): Promise<ServerSentEvent[]> {
  const out: ServerSentEvent[] = []
  for await (const e of events) {
    out.push(e)
    if (out.length >= max) break
  }
  return out
}

describe('parseEventStream', () => {
  it('CRLF split across chunks, comments, multi-line data, ids and a retry-only block', async () => {
    const events = await collect(
      parseEventStream(
        chunks(': keep-alive\r', '\nevent: state\r\nid: 7\r\ndata: {"a":\r\ndata: 1}\r', '\n\r\nretry: 250\n\ndata:plain\n\n'),
      ),
    )
    expect(events).toEqual([
      { event: 'state', id: '7', data: '{"a":\n1}' },
      { event: '', id: '7', data: '', retry: 250 },
      { event: 'message', id: '7', data: 'plain' },
    ])
  })
})

describe('followEvents', () => {
  let server: Server
  let base: string
  let handle: (req: IncomingMessage, res: ServerResponse, n: number) => void
  const requests: IncomingMessage[] = []
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req)
      handle(req, res, requests.length)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterEach(() => {
    requests.length = 0
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  const sse = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' })

  it('reconnects when the stream breaks before its last event, resuming with Last-Event-ID', async () => {
    handle = (req, res, n) => {
      sse(res)
      if (n === 1) {
        // The connection drops mid-stream (a gateway restart, a proxy timeout), once these are sent.
        res.write('retry: 20\nid: 1\ndata: one\n\nid: 2\ndata: two\n\n', () => res.destroy())
      } else res.end(`id: 3\nevent: done\ndata: three (after ${req.headers['last-event-id']})\n\n`)
    }
    const reconnects: string[] = []
    const events = await collect(
      followEvents(createGatewayClient({ url: base, token: 'tok' }), '/stream', {
        done: (e) => e.event === 'done',
        onReconnect: ({ error }) => reconnects.push(error.message),
      }),
    )
    expect(events.map((e) => e.data)).toEqual(['one', 'two', 'three (after 2)'])
    expect(requests.map((r) => [r.headers['last-event-id'], r.headers.authorization, r.headers.accept])).toEqual([
      [undefined, 'Bearer tok', 'text/event-stream'],
      ['2', 'Bearer tok', 'text/event-stream'],
    ])
    expect(reconnects).toHaveLength(1)
  })

  it("a 4xx is the gateway's message at once, never retried", async () => {
    handle = (_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"NOPE","message":"No such stream"}')
    const error = await collect(followEvents(createGatewayClient({ url: base }), '/missing', { done: () => false })).catch((e) => e)
    expect(error).toBeInstanceOf(GatewayClientError)
    expect(error).toMatchObject({ message: 'No such stream (HTTP 404)', statusCode: 404, code: 'NOPE' })
    expect(requests).toHaveLength(1)
  })

  it('gives up reconnecting after reconnectForMs with the reason', async () => {
    handle = (_req, res, n) => {
      if (n === 1) {
        sse(res)
        res.end('data: first\n\n')
      } else res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"restarting"}')
    }
    const seen: string[] = []
    const error = await (async () => {
      for await (const e of followEvents(createGatewayClient({ url: base }), '/s', { done: () => false, reconnectForMs: 200, delayMs: 10 }))
        seen.push(e.data)
    })().catch((e) => e)
    expect(seen).toEqual(['first'])
    expect(error).toMatchObject({ message: 'restarting (HTTP 503)', statusCode: 503 })
    expect(requests.length).toBeGreaterThan(2)
  })

  it('an aborted signal ends following with its reason and closes the connection', async () => {
    let closed!: Promise<unknown>
    handle = (req, res) => {
      sse(res)
      res.write('data: waiting\n\n') // and never ends
      closed = once(req.socket, 'close')
    }
    const controller = new AbortController()
    const follow = (async () => {
      for await (const e of followEvents(createGatewayClient({ url: base }), '/forever', { signal: controller.signal })) {
        expect(e.data).toBe('waiting')
        controller.abort(new Error('user stop'))
      }
    })()
    await expect(follow).rejects.toThrow('user stop')
    await closed
  })

  it('no gateway: the same message every command prints', async () => {
    const error = await collect(followEvents(createGatewayClient({ url: 'http://127.0.0.1:1' }), '/x')).catch((e) => e)
    expect(error.message).toMatch(/^Cannot reach the gateway at http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED .*ktrdr up/)
  })
})

describe('followOperation', () => {
  let g: TestGateway
  let host: Awaited<ReturnType<typeof startFakeHost>>
  beforeAll(async () => {
    g = await startTestGateway()
    host = await startFakeHost({ gatewayUrl: g.url, workerId: 'follow-host' })
  })
  afterAll(async () => {
    await host?.close()
    await g?.close()
  })

  it('the current state first, each change, and the final state it returns', async () => {
    const { body: op } = await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { steps: 3, delay_ms: 1500 } } })
    const seen: Array<[string, string, number]> = []
    const final = await followOperation(createGatewayClient({ url: g.url }), op.operation_id, {
      onState: (o, event) => seen.push([event, o.status, o.progress.percentage]),
    })
    expect(final).toMatchObject({ operation_id: op.operation_id, status: 'completed' })
    expect(seen[0]![0]).toBe('state')
    expect(seen.at(-1)).toEqual(['completed', 'completed', 100])
    // Steps every 500 ms: the follower is subscribed long before the first, so it sees them.
    expect(seen.some((s) => s[0] === 'progress' && s[2] > 0 && s[2] < 100)).toBe(true)
    const pcts = seen.map((s) => s[2])
    expect(pcts).toEqual([...pcts].sort((a, b) => a - b))
  })

  it('an unknown operation is the gateway 404, not a hang', async () => {
    await expect(followOperation(createGatewayClient({ url: g.url }), 'op_nope_20250101_000000_00000000')).rejects.toMatchObject({
      statusCode: 404,
    })
  })
})
