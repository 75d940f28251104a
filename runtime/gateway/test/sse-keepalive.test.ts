// Event streams on a keep-alive connection: a client that abandons a stream (or reads it to its
// end) and sends more requests on the same agent gets each one's own status and body; an
// abandoned stream lets go of what it subscribed to; bytes node's parser refuses get our JSON error.
import http from 'node:http'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { Operation } from '../../protocol/index.ts'
import { startFakeHost, startTestGateway, until } from '../../../test/kit/index.ts'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  reused: boolean
}

function request(agent: http.Agent, url: string, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' }
    const req = http.request(url, { method, agent, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, reused: req.reusedSocket }))
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)))
    req.on('error', reject)
    req.end(body)
  })
}

/** Opens an event stream; resolves with its response as soon as the headers arrive (before any event). */
function openStream(agent: http.Agent, url: string) {
  return new Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>((resolve, reject) => {
    const req = http.request(url, { agent, headers: { accept: 'text/event-stream' } }, (res) => resolve({ req, res }))
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url}: no response headers in 10 s`)))
    req.on('error', reject)
    req.end()
  })
}

async function setup() {
  const g = await startTestGateway()
  cleanups.push(() => g.close())
  const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'x1' })
  cleanups.push(() => h.close())
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  cleanups.push(() => agent.destroy())
  const op = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 60_000 } } })).body
  await until(() => h.running.has(op.operation_id))
  // What the streams subscribe to, counted where they subscribe (the routes' ctx is these services).
  const { operations, hooks } = g.gateway.services
  const live = { watchers: 0, logListeners: 0 }
  const watch = operations.watch.bind(operations)
  operations.watch = (id, fn) => {
    live.watchers++
    const off = watch(id, fn)
    let done = false
    return () => {
      if (!done) live.watchers--
      done = true
      off()
    }
  }
  const on = hooks.on.bind(hooks)
  hooks.on = ((name, fn) => {
    const off = on(name, fn)
    if (name !== 'operation:log') return off
    live.logListeners++
    let done = false
    return () => {
      if (!done) live.logListeners--
      done = true
      off()
    }
  }) as typeof hooks.on
  return { g, h, agent, id: op.operation_id, live }
}

/** GET, HEAD and a POST with a body on the agent: each gets its own status and body. */
async function expectPlainRequests(agent: http.Agent, url: string, id: string) {
  const get = await request(agent, `${url}/api/v1/operations/${id}`)
  expect(get.status, get.body).toBe(200)
  expect(JSON.parse(get.body).operation_id).toBe(id)
  const head = await request(agent, `${url}/api/v1/operations/${id}`, 'HEAD')
  expect(head.status).toBe(200)
  expect(head.body).toBe('')
  expect(head.headers['content-type']).toMatch(/application\/json/)
  const post = await request(agent, `${url}/api/v1/functions/echo/invoke`, 'POST', JSON.stringify({ input: { message: 'after' } }))
  expect(post.status, post.body).toBe(202)
  expect(JSON.parse(post.body).input).toEqual({ message: 'after' })
  const bad = await request(agent, `${url}/api/v1/functions/echo/invoke`, 'POST', '{"input":')
  expect(bad.status, bad.body).toBe(400)
  expect(JSON.parse(bad.body).code).toBe('INVALID_JSON')
  const again = await request(agent, `${url}/api/v1/operations/${id}`)
  expect(again.status, again.body).toBe(200)
  // The requests after the first went over one connection: nothing was left on it.
  expect(again.reused).toBe(true)
}

describe('event streams on a keep-alive connection', () => {
  for (const path of ['events', 'logs?follow=1']) {
    it(`${path}: answers headers at once; abandoned by req.destroy(), the next requests get their own answers`, async () => {
      const { g, agent, id, live } = await setup()
      const s = await openStream(agent, `${g.url}/api/v1/operations/${id}/${path}`)
      expect(s.res.statusCode).toBe(200)
      expect(s.res.headers['content-type']).toBe('text/event-stream')
      expect(live.watchers).toBe(1)
      s.req.destroy()
      await until(() => live.watchers === 0 && live.logListeners === 0)
      await expectPlainRequests(agent, g.url, id)
    })

    it(`${path}: abandoned by res.destroy() after its first bytes`, async () => {
      const { g, agent, id, live } = await setup()
      const s = await openStream(agent, `${g.url}/api/v1/operations/${id}/${path}`)
      if (path === 'events') await new Promise((r) => s.res.once('data', r))
      s.res.destroy()
      await until(() => live.watchers === 0 && live.logListeners === 0)
      await expectPlainRequests(agent, g.url, id)
    })

    it(`${path}: read to its end (the operation finished), then the same connection serves the next requests`, async () => {
      const { g, h, agent, id, live } = await setup()
      const s = await openStream(agent, `${g.url}/api/v1/operations/${id}/${path}`)
      let text = ''
      s.res.setEncoding('utf8')
      s.res.on('data', (d: string) => (text += d))
      const ended = new Promise((r) => s.res.once('end', r))
      await h.finish(id)
      await ended
      expect(text).toContain('event: completed\n')
      expect(live).toEqual({ watchers: 0, logListeners: 0 })
      const next = await request(agent, `${g.url}/api/v1/operations/${id}`)
      expect(next.status).toBe(200)
      expect(JSON.parse(next.body).status).toBe('completed')
      expect(next.reused).toBe(true)
      await expectPlainRequests(agent, g.url, id)
    })

    it(`${path}: fetch aborted by its AbortSignal, then fetch again`, async () => {
      const { g, id, live } = await setup()
      const ac = new AbortController()
      const res = await fetch(`${g.url}/api/v1/operations/${id}/${path}`, { signal: ac.signal })
      expect(res.status).toBe(200)
      ac.abort()
      await until(() => live.watchers === 0 && live.logListeners === 0)
      for (let i = 0; i < 3; i++) {
        const again = await fetch(`${g.url}/api/v1/operations/${id}`)
        expect(again.status).toBe(200)
        expect(((await again.json()) as Operation).operation_id).toBe(id)
      }
    })
  }
})

/**
 * A raw connection to the gateway: write requests on it, wait for what it answered, and for it
 * closing (with everything it sent).
 */
function rawConnection(url: string) {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1')
  const state = { text: '' }
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => (state.text += d))
  const closed = new Promise<string>((resolve, reject) => {
    socket.on('error', reject)
    socket.on('close', () => resolve(state.text))
  })
  return {
    socket,
    get text() {
      return state.text
    },
    write: (bytes: string) => socket.write(bytes),
    closed,
  }
}

/** The last response in `text`: its status and JSON body. */
function lastAnswer(text: string) {
  const at = text.lastIndexOf('HTTP/1.1 ')
  const [head, body] = text.slice(at).split('\r\n\r\n')
  return {
    status: Number(head!.split(' ')[1]),
    head: head!,
    body: JSON.parse(body!) as { code: string; message: string; statusCode: number },
  }
}

describe('bytes node’s HTTP parser refuses', () => {
  it('after a finished event stream on the same connection: a JSON 400 naming the problem, then the connection closes', async () => {
    const { g, h, id } = await setup()
    await h.finish(id)
    const c = rawConnection(g.url)
    c.write(`GET /api/v1/operations/${id}/events HTTP/1.1\r\nhost: x\r\n\r\n`)
    // The stream's last chunk: the connection is idle and kept alive.
    await until(() => c.text.endsWith('\r\n0\r\n\r\n'))
    c.write('NOT-HTTP /health\r\n\r\n')
    const text = await c.closed
    expect(text.startsWith('HTTP/1.1 200 OK')).toBe(true)
    expect(text).toContain('event: completed\n')
    const answer = lastAnswer(text)
    expect(answer.status).toBe(400)
    expect(answer.head.toLowerCase()).toContain('connection: close')
    expect(answer.body).toMatchObject({ code: 'MALFORMED_HTTP', statusCode: 400, details: { parser_code: 'HPE_INVALID_METHOD' } })
    expect(answer.body.message).toMatch(/Malformed HTTP request: .*method/i)
  })

  it('a good request pipelined before malformed bytes gets its own answer first (node answered it with the 400)', async () => {
    const { g, id } = await setup()
    const c = rawConnection(g.url)
    c.write(`GET /api/v1/operations/${id} HTTP/1.1\r\nhost: x\r\n\r\nNOT-HTTP /health\r\n\r\n`)
    const answers = (await c.closed).split(/(?=HTTP\/1\.1 )/)
    expect(answers).toHaveLength(2)
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200 /)
    expect(JSON.parse(answers[0]!.split('\r\n\r\n')[1]!).operation_id).toBe(id)
    expect(lastAnswer(answers[1]!).body.code).toBe('MALFORMED_HTTP')
  })

  it('headers over node’s limit: 431 with REQUEST_HEADERS_TOO_LARGE', async () => {
    const { g } = await setup()
    const c = rawConnection(g.url)
    c.write(`GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`)
    const text = await c.closed
    const answer = lastAnswer(text)
    expect(answer.status).toBe(431)
    expect(answer.body.code).toBe('REQUEST_HEADERS_TOO_LARGE')
  })

  it('while an event stream is being sent: the connection closes without bytes inside the stream', async () => {
    const { g, id, live } = await setup()
    const c = rawConnection(g.url)
    c.write(`GET /api/v1/operations/${id}/events HTTP/1.1\r\nhost: x\r\n\r\n`)
    await until(() => c.text.includes('event: state\n'))
    c.write('NOT-HTTP /health\r\n\r\n')
    const text = await c.closed
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1)
    expect(text).not.toContain('MALFORMED_HTTP')
    await until(() => live.watchers === 0 && live.logListeners === 0)
  })
})
