// answerClientError on a real loopback connection, for the refusals a test cannot provoke in time
// through a server (node's request timer checks every 30 s) and for a reset.
import net from 'node:net'
import { afterEach, expect, it } from 'vitest'
import { answerClientError } from '../index.ts'

const cleanups: Array<() => unknown> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

/** A connected pair: what answerClientError writes on `server` is read until close on the client side. */
async function pair() {
  const listener = net.createServer()
  cleanups.push(() => listener.close())
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r))
  const accepted = new Promise<net.Socket>((r) => listener.once('connection', r))
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1')
  cleanups.push(() => client.destroy())
  let text = ''
  client.setEncoding('utf8')
  client.on('data', (d: string) => (text += d))
  const closed = new Promise<string>((resolve) => client.on('close', () => resolve(text)))
  client.on('error', () => {})
  return { server: await accepted, closed }
}

const errorWith = (code: string, reason?: string) => Object.assign(new Error(reason ?? code), { code, reason })

it('a request timeout is a 408 REQUEST_TIMEOUT, retryable, and the connection closes', async () => {
  const { server, closed } = await pair()
  answerClientError(errorWith('ERR_HTTP_REQUEST_TIMEOUT'), server)
  const [head, body] = (await closed).split('\r\n\r\n')
  expect(head).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
  expect(JSON.parse(body!)).toMatchObject({ code: 'REQUEST_TIMEOUT', statusCode: 408, retryable: true })
})

it('oversized chunk extensions are a 413 BODY_TOO_LARGE naming them', async () => {
  const { server, closed } = await pair()
  answerClientError(errorWith('HPE_CHUNK_EXTENSIONS_OVERFLOW', 'Chunk extensions overflow'), server)
  const [head, body] = (await closed).split('\r\n\r\n')
  expect(head).toMatch(/^HTTP\/1\.1 413 /)
  expect(JSON.parse(body!)).toMatchObject({ code: 'BODY_TOO_LARGE', message: expect.stringMatching(/chunk extensions/i) })
})

it('a reset gets no answer: the connection just closes', async () => {
  const { server, closed } = await pair()
  answerClientError(errorWith('ECONNRESET'), server)
  expect(await closed).toBe('')
})
