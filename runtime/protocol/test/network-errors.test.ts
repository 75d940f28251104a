// What a host logs when it cannot reach the gateway: the cause, not undici's "fetch failed".
// Real failures on loopback (a closed port, a server that never answers) and a name under
// `.invalid` (RFC 2606: never resolves).
import { createServer, type Server, type Socket } from 'node:net'
import { ofetch } from 'ofetch'
import { afterAll, describe, expect, it } from 'vitest'
import { describeNetworkError } from '../index.ts'

const servers: Server[] = []
const sockets: Socket[] = []
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

async function listen(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer(onConnection)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** The error ofetch (undici) throws for `url` (the host's own node:http link: runtime/host/test/units.test.ts). */
const failure = (url: string, timeout?: number) =>
  ofetch(url, { method: 'POST', body: {}, retry: 0, timeout }).then(
    () => {
      throw new Error('expected the request to fail')
    },
    (error: Error) => error,
  )

describe('describeNetworkError', () => {
  it('a closed port: "Connection refused" with ECONNREFUSED and the address', async () => {
    const port = await closedPort()
    const error = await failure(`http://127.0.0.1:${port}/api/v1/workers/register`)
    expect(error.message).toMatch(/fetch failed/)
    expect(describeNetworkError(error)).toBe(`Connection refused (ECONNREFUSED 127.0.0.1:${port}): nothing listens there`)
  })

  it('a name that does not resolve: a DNS failure naming it', async () => {
    const error = await failure('http://ktrdr-gateway.invalid:8000/api/v1/workers/register')
    expect(describeNetworkError(error)).toMatch(/^DNS failure \((ENOTFOUND|EAI_AGAIN) ktrdr-gateway\.invalid\)/)
  })

  it('a gateway that accepts but never answers: a timeout', async () => {
    const port = await listen((socket) => sockets.push(socket))
    const error = await failure(`http://127.0.0.1:${port}/api/v1/workers/register`, 300)
    expect(describeNetworkError(error)).toMatch(/^Timed out: no answer/)
  })

  it('a connection closed without an answer: reset', async () => {
    const port = await listen((socket) => socket.destroy())
    const error = await failure(`http://127.0.0.1:${port}/api/v1/workers/register`)
    expect(describeNetworkError(error)).toMatch(/^Connection reset \((ECONNRESET|UND_ERR_SOCKET)/)
  })

  it('anything else keeps its innermost message', () => {
    expect(describeNetworkError(new Error('outer', { cause: new Error('inner reason') }))).toBe('inner reason')
    expect(describeNetworkError('plain')).toBe('plain')
  })
})
