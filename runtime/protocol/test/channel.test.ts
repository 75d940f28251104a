// The host channel's request/answer endpoint, two of them back to back over an in-memory pipe that
// delivers whole messages asynchronously and in order, as a WebSocket does.
import { describe, expect, it } from 'vitest'
import { KtrdrError, createChannelEndpoint, type ChannelAnswer, type ChannelOp } from '../index.ts'

type Handler = (op: ChannelOp, body: unknown) => ChannelAnswer | Promise<ChannelAnswer>

function pair(serveB: Handler, { windowA, serveA }: { windowA?: number; serveA?: Handler } = {}) {
  const wire = { aToB: [] as string[], bToA: [] as string[], errors: [] as string[] }
  const a = createChannelEndpoint({
    send: (text) => {
      wire.aToB.push(text)
      setImmediate(() => b.receive(text))
    },
    onRequest: serveA ?? (() => ({ status: 404, body: null })),
    onProtocolError: (why) => wire.errors.push(`a: ${why}`),
    window: windowA,
  })
  const b = createChannelEndpoint({
    send: (text) => {
      wire.bToA.push(text)
      setImmediate(() => a.receive(text))
    },
    onRequest: serveB,
    onProtocolError: (why) => wire.errors.push(`b: ${why}`),
  })
  return { a, b, wire }
}

describe('host channel endpoint', () => {
  it('serves requests in the order they were sent and matches answers by id, whatever order they come back in', async () => {
    const served: number[] = []
    const { a, wire } = pair(async (_op, body) => {
      const n = (body as { n: number }).n
      served.push(n)
      // The first one answers last.
      if (n === 0) await new Promise((r) => setTimeout(r, 30))
      return { status: 202, body: { n } }
    })
    const answers = await Promise.all([0, 1, 2, 3].map((n) => a.request('dispatch', { n }, { timeoutMs: 5000 })))
    expect(served).toEqual([0, 1, 2, 3])
    expect(answers.map((x) => (x.body as { n: number }).n)).toEqual([0, 1, 2, 3])
    // Requests of one tick travel as one message.
    expect(wire.aToB).toHaveLength(1)
    expect(JSON.parse(wire.aToB[0]!).map((f: { id: number }) => f.id)).toEqual([1, 2, 3, 4])
  })

  it('frames from different tasks of one event-loop turn travel as one message', async () => {
    const { a, wire } = pair((_op, body) => ({ status: 202, body }))
    // Two immediates queued together run in one check phase, as separate tasks (microtasks run
    // between them), as two sockets' events read in one poll do. (Two timers of 0 ms are not
    // sure to share a turn: they may straddle a millisecond and fall due in different ones.)
    const answers = await new Promise<Array<Promise<ChannelAnswer>>>((resolve) => {
      const sent: Array<Promise<ChannelAnswer>> = []
      setImmediate(() => sent.push(a.request('dispatch', { n: 1 }, { timeoutMs: 5000 })))
      setImmediate(() => {
        sent.push(a.request('dispatch', { n: 2 }, { timeoutMs: 5000 }))
        resolve(sent)
      })
    })
    expect((await Promise.all(answers)).map((x) => (x.body as { n: number }).n)).toEqual([1, 2])
    expect(wire.aToB).toHaveLength(1)
    expect(JSON.parse(wire.aToB[0]!)).toHaveLength(2)
  })

  it('backpressure: no more than `window` requests await an answer; the rest wait, in order', async () => {
    const held: Array<() => void> = []
    const seen: number[] = []
    const { a } = pair(
      (_op, body) =>
        new Promise<ChannelAnswer>((resolve) => {
          seen.push((body as { n: number }).n)
          held.push(() => resolve({ status: 200, body }))
        }),
      { windowA: 2 },
    )
    const answers = [0, 1, 2, 3, 4].map((n) => a.request('events', { n }, { timeoutMs: 5000 }))
    await until(() => seen.length === 2)
    expect(a.inFlight()).toBe(2)
    expect(a.queued()).toBe(3)
    held.shift()!()
    await until(() => seen.length === 3)
    expect(seen).toEqual([0, 1, 2])
    expect(a.inFlight()).toBe(2)
    while (held.length || seen.length < 5) {
      held.shift()?.()
      await new Promise((r) => setImmediate(r))
    }
    expect((await Promise.all(answers)).map((x) => (x.body as { n: number }).n)).toEqual([0, 1, 2, 3, 4])
    expect(seen).toEqual([0, 1, 2, 3, 4])
  })

  it('an answer served as JSON text travels as that text, in the same message as answers of objects', async () => {
    const json = '{"operation_id":"op_x","input":{"s":"a \\"quoted\\" ]}, text"},"warnings":["w"]}'
    const { a, wire } = pair((_op, body) =>
      (body as { text: boolean }).text ? { status: 202, body: null, json } : { status: 200, body: { plain: true } },
    )
    const answers = await Promise.all([
      a.request('invoke', { text: true }, { timeoutMs: 5000 }),
      a.request('invoke', { text: false }, { timeoutMs: 5000 }),
    ])
    expect(answers).toEqual([
      { status: 202, body: JSON.parse(json) },
      { status: 200, body: { plain: true } },
    ])
    expect(wire.bToA).toHaveLength(1)
    // The text itself, not a re-serialization of it.
    expect(wire.bToA[0]).toContain(`"body":${json}}`)
  })

  it('a KtrdrError thrown by the server answers with its status and JSON; other errors are a 500', async () => {
    const { a } = pair((op) => {
      if (op === 'cancel') throw new KtrdrError({ code: 'OPERATION_NOT_RUNNING', message: 'not here' })
      throw new Error('boom')
    })
    expect(await a.request('cancel', {}, { timeoutMs: 5000 })).toMatchObject({
      status: 404,
      body: { code: 'OPERATION_NOT_RUNNING', message: 'not here', retryable: false },
    })
    expect(await a.request('dispatch', {}, { timeoutMs: 5000 })).toMatchObject({ status: 500, body: { code: 'INTERNAL_ERROR' } })
  })

  it('closing fails what is in flight and what waits with a network error; a silent peer times out', async () => {
    const { a } = pair(() => new Promise<ChannelAnswer>(() => {}), { windowA: 1 })
    const late = a.request('dispatch', {}, { timeoutMs: 20 })
    await expect(late).rejects.toMatchObject({ code: 'ETIMEDOUT' })
    const inFlight = a.request('dispatch', {}, { timeoutMs: 5000 })
    const waiting = a.request('dispatch', {}, { timeoutMs: 5000 })
    await until(() => a.inFlight() === 1 && a.queued() === 1)
    a.close()
    await expect(inFlight).rejects.toMatchObject({ code: 'ECONNRESET' })
    await expect(waiting).rejects.toMatchObject({ code: 'ECONNRESET' })
    await expect(a.request('dispatch', {}, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'ECONNRESET' })
  })

  it('what is not a channel message is a protocol error, not a crash', () => {
    const { b, wire } = pair(() => ({ status: 200, body: null }))
    b.receive('not json')
    b.receive('{"t":"req"}')
    b.receive('[{"t":"req","id":1,"op":"shutdown"}]')
    b.receive('[{"t":"res","id":"x","status":200}]')
    expect(wire.errors).toEqual([
      'b: a message that is not JSON',
      'b: a message that is not an array of frames',
      'b: an unknown request "shutdown"',
      'b: a frame without an integer id',
    ])
  })
})

async function until(check: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((r) => setImmediate(r))
  }
}
