// The client channel (GET /api/v1/channel): invokes over one WebSocket, answered as the invoke
// route answers them, after the same commit; and what the gateway does with frames that are wrong.
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import WebSocket from 'crossws/websocket'
import { afterEach, describe, expect, it } from 'vitest'
import type { Operation } from '../../protocol/index.ts'
import { startFakeHost, useTestGateways, type TestGateway } from '../../../test/kit/index.ts'
import { GatewayClientError } from '../_client.ts'
import { createInvokeChannel, type InvokeChannel } from '../_invoke-channel.ts'

const { gw, cleanup } = useTestGateways(afterEach)
function channel(g: TestGateway, token: string | null = null): InvokeChannel {
  const ch = createInvokeChannel({ url: g.url, token }, {})
  cleanup(() => ch.close())
  return ch
}
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal')
    },
    (error: GatewayClientError) => error,
  )

describe('invoke channel', () => {
  it('accepts many invokes over one connection, each committed before its 202', async () => {
    const g = await gw()
    const ch = channel(g)
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => ch.invoke('echo', { input: { message: `m${i}` }, priority: i % 3 })),
    )
    expect(results.every((r) => r.statusCode === 202 && r.operation.status === 'pending')).toBe(true)
    const ids = results.map((r) => r.operation.operation_id)
    expect(new Set(ids).size).toBe(40)
    expect(results.map((r) => (r.operation.input as { message: string }).message)).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`))
    // No host registered: the answer says why they wait, as the HTTP route's does.
    expect(results[0]!.operation.warnings?.[0]).toMatch(/No registered host can run echo/)
    // Committed: the store has every one (a list reads the database).
    const listed = await g.api<{ data: Operation[] }>('/api/v1/operations?status=pending&limit=100')
    expect(listed.body.data.map((o) => o.operation_id).sort()).toEqual([...ids].sort())
  })

  it('answers an accept, here and over HTTP, with the operation as its commit wrote it, not as it stands by the time the answer leaves', async () => {
    const g = await gw()
    const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'h1' })
    cleanup(() => h.close())
    // The operation's JSON right after its insert committed (the hook fires then, before the dispatch).
    const committed = new Map<string, string>()
    g.gateway.services.hooks.on('operation:created', (o) => committed.set(o.operation_id, JSON.stringify(o)))
    const ch = channel(g)
    // A free host: the dispatch is on its way (placed_at set in memory) before either answer is written.
    const overChannel = await ch.invoke('echo', { input: { message: 'ws' } })
    expect(overChannel.statusCode).toBe(202)
    expect(overChannel.operation).toEqual(JSON.parse(committed.get(overChannel.operation.operation_id)!))
    expect(overChannel.operation.timings.placed_at).toBeNull()
    const res = await fetch(`${g.url}/api/v1/functions/echo/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { message: 'http' } }),
    })
    expect(res.status).toBe(202)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const text = await res.text()
    expect(text).toBe(committed.get(JSON.parse(text).operation_id))
    // With a warning (no host can run it), the same text with `warnings` added.
    const gpu = await fetch(`${g.url}/api/v1/functions/needs-gpu/invoke`, { method: 'POST', body: JSON.stringify({ input: {} }) })
    const warned = JSON.parse(await gpu.text())
    const { warnings, ...operation } = warned
    expect(warnings).toEqual([expect.stringMatching(/No registered host can run needs-gpu/)])
    expect(JSON.stringify(operation)).toBe(committed.get(warned.operation_id))
  })

  it('waits for the result with wait_seconds (200), and an idempotency_key gives back the same operation', async () => {
    const g = await gw()
    const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'h1' })
    cleanup(() => h.close())
    const ch = channel(g)
    const done = await ch.invoke('echo', { input: { message: 'hi' }, wait_seconds: 10, idempotency_key: 'k-1' })
    expect(done.statusCode).toBe(200)
    expect(done.operation.status).toBe('completed')
    expect(done.operation.result).toEqual({ echo: { message: 'hi' }, worker_id: 'h1' })
    const again = await ch.invoke('echo', { input: { message: 'hi' }, idempotency_key: 'k-1' })
    expect(again.operation.operation_id).toBe(done.operation.operation_id)
    expect(h.received).toHaveLength(1)
  })

  it('keeps more than ten waiting invokes on one connection without a listener-leak warning', async () => {
    const g = await gw()
    const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'h1', capabilities: { slots: 16 } })
    cleanup(() => h.close())
    // Every wait of a channel listens on the channel's one "gone" signal; Node warned at the 11th
    // (MaxListenersExceededWarning), in the gateway's log of every client that runs 16 calls at once.
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    cleanup(() => process.off('warning', onWarning))
    const ch = channel(g)
    const done = await Promise.all(
      Array.from({ length: 16 }, (_, i) => ch.invoke('echo', { input: { message: `w${i}`, delay_ms: 100 }, wait_seconds: 10 })),
    )
    expect(done.map((r) => r.statusCode)).toEqual(Array.from({ length: 16 }, () => 200))
    // A warning is emitted on the next tick: let it land before looking.
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([])
  })

  it('answers bad invokes with the status and message of the HTTP route, and stays usable', async () => {
    const g = await gw()
    const ch = channel(g)
    const unknownField = await refusal(ch.invoke('echo', { inputs: {} } as never))
    expect(unknownField).toBeInstanceOf(GatewayClientError)
    expect(unknownField.statusCode).toBe(400)
    expect(unknownField.message).toMatch(/inputs is not a known field/)
    const unknownFn = await refusal(ch.invoke('nope'))
    expect(unknownFn.statusCode).toBe(404)
    expect(unknownFn.code).toBe('FUNCTION_NOT_FOUND')
    const badInput = await refusal(ch.invoke('strict', { input: { bars: 0 } }))
    expect(badInput.statusCode).toBe(422)
    expect(badInput.message).toMatch(/symbol/)
    const badWait = await refusal(ch.invoke('echo', { wait_seconds: -1 }))
    expect(badWait.statusCode).toBe(400)
    expect((await ch.invoke('echo')).statusCode).toBe(202)
  })

  it('needs the API token, and says so when it is missing or wrong', async () => {
    const g = await gw({ apiToken: 'api-secret', clusterToken: 'cluster-secret' })
    for (const token of [null, 'wrong', 'cluster-secret']) {
      const e = await refusal(channel(g, token).invoke('echo'))
      expect(e).toBeInstanceOf(GatewayClientError)
      expect(e.statusCode).toBe(401)
      expect(e.message).toMatch(/refused the channel \(HTTP 401: check KTRDR_API_TOKEN\)/)
    }
    expect((await channel(g, 'api-secret').invoke('echo')).statusCode).toBe(202)
    // A plain GET of the path says it is a WebSocket.
    const plain = await g.api('/api/v1/channel', { headers: { authorization: 'Bearer api-secret' } })
    expect(plain.status).toBe(426)
  })

  it('fails an invoke in flight when the connection closes, and opens a new one for the next', async () => {
    const g = await gw()
    const ch = createInvokeChannel({ url: g.url, token: null }, {})
    cleanup(() => ch.close())
    // No host: this one waits for up to 30 s, until the gateway closes its side.
    const waiting = refusal(ch.invoke('echo', { wait_seconds: 30 }))
    await expect.poll(async () => (await g.api<{ data: Operation[] }>('/api/v1/operations?status=pending')).body.data.length).toBe(1)
    await g.gateway.close()
    const e = await waiting
    expect(e.statusCode).toBeUndefined()
    expect(e.message).toMatch(/Cannot reach the gateway/)
    await expect(ch.invoke('echo')).rejects.toThrow(/Cannot reach the gateway/)
    // A gateway back at the same address: the next invoke opens a new channel to it.
    await gw({ port: Number(new URL(g.url).port) })
    const again = await ch.invoke('echo')
    expect(again.statusCode).toBe(202)
    expect(ch.transport).toBe('websocket')
  })

  it('closes the socket on a message that is not frames, and refuses requests other than invoke', async () => {
    const g = await gw()
    const open = () =>
      new Promise<InstanceType<typeof WebSocket>>((resolve, reject) => {
        const ws = new WebSocket(`${g.url.replace('http', 'ws')}/api/v1/channel`)
        ws.addEventListener('open', () => resolve(ws))
        ws.addEventListener('error', () => reject(new Error('no channel')))
      })
    const next = (ws: InstanceType<typeof WebSocket>, type: 'message' | 'close') =>
      new Promise<MessageEvent | { code: number }>((resolve) =>
        ws.addEventListener(type, (e) => resolve(e as unknown as MessageEvent | { code: number }), { once: true }),
      )

    const a = await open()
    a.send(
      JSON.stringify([
        { t: 'req', id: 1, op: 'dispatch', body: {} },
        { t: 'req', id: 2, op: 'invoke', body: [] },
      ]),
    )
    const answers = JSON.parse(String(((await next(a, 'message')) as MessageEvent).data)) as Array<{
      id: number
      status: number
      body: { message: string }
    }>
    expect(answers.map((x) => [x.id, x.status])).toEqual([
      [1, 400],
      [2, 400],
    ])
    expect(answers[0]!.body.message).toMatch(/carries "invoke" requests, not "dispatch"/)
    expect(answers[1]!.body.message).toMatch(/is a JSON object/)
    a.close()

    const b = await open()
    const closed = next(b, 'close')
    b.send('{"not": "frames"}')
    expect(((await closed) as { code: number }).code).toBe(1008)
  })

  it('falls back to HTTP behind a proxy that passes no WebSocket upgrades', async () => {
    const g = await gw()
    const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'h1' })
    cleanup(() => h.close())
    // A reverse proxy without upgrade support (nginx without the Upgrade headers answers so too).
    const target = new URL(g.url)
    let upgrades = 0
    const proxy = createServer((req, res) => {
      const out = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode!, answer.headers)
          answer.pipe(res)
        },
      )
      req.pipe(out)
    })
    proxy.on('upgrade', (_req, socket) => {
      upgrades++
      socket.end('HTTP/1.1 426 Upgrade Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    cleanup(() => new Promise((resolve) => proxy.close(resolve)))
    const ch = createInvokeChannel({ url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, token: null }, {})
    cleanup(() => ch.close())

    const done = await ch.invoke('echo', { input: { message: 'via http' }, wait_seconds: 10 })
    expect(ch.transport).toBe('http')
    expect(done.statusCode).toBe(200)
    expect(done.operation.result).toEqual({ echo: { message: 'via http' }, worker_id: 'h1' })
    expect((await ch.invoke('echo', { input: {}, queue: true })).statusCode).toBe(202)
    const unknownFn = await refusal(ch.invoke('nope'))
    expect(unknownFn.statusCode).toBe(404)
    expect(unknownFn.code).toBe('FUNCTION_NOT_FOUND')
    // Asked once: later invokes go straight to HTTP.
    expect(upgrades).toBe(1)
  })
})
