// The CLI's gateway client (useGatewayApi over node:http) against a real server on a loopback port.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useGatewayApi } from '../index.ts'

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

let server: Server
let base: string
const seen: Seen[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      if (req.url === '/missing') return res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"No such thing"}')
      if (req.url === '/broken') return res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway')
      if (req.url === '/empty') return res.writeHead(204).end()
      if (req.url === '/text') return res.writeHead(200, { 'content-type': 'text/plain' }).end('plain words')
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
})

describe('useGatewayApi', () => {
  it('GET with a query (undefined values left out) and the API token; JSON answers parsed', async () => {
    process.env.KTRDR_API_TOKEN = 'tok'
    try {
      const api = useGatewayApi(base)
      expect(api.base).toBe(base.slice(0, -1))
      expect(await api('/api/v1/workers', { query: { status: 'idle', worker_type: undefined, limit: 20 } })).toEqual({ ok: true })
      expect(seen.at(-1)).toMatchObject({
        method: 'GET',
        url: '/api/v1/workers?status=idle&limit=20',
        headers: { authorization: 'Bearer tok' },
      })
    } finally {
      delete process.env.KTRDR_API_TOKEN
    }
  })

  it('objects go as JSON; strings and bytes as they are, with the content-type given', async () => {
    const api = useGatewayApi(base)
    await api('/json', { method: 'PUT', body: { value: 's3cret' } })
    expect(seen.at(-1)).toMatchObject({ method: 'PUT', body: '{"value":"s3cret"}', headers: { 'content-type': 'application/json' } })
    expect(seen.at(-1)!.headers.authorization).toBeUndefined()
    await api('/yaml', { method: 'PUT', body: 'name: x\n', headers: { 'content-type': 'text/yaml' } })
    expect(seen.at(-1)).toMatchObject({ body: 'name: x\n', headers: { 'content-type': 'text/yaml', 'content-length': '8' } })
    await api('/bytes', { method: 'POST', body: Buffer.from([1, 2, 3]), headers: { 'content-type': 'application/gzip' } })
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '\u0001\u0002\u0003', headers: { 'content-type': 'application/gzip' } })
  })

  it('an empty answer is undefined, a text answer its text', async () => {
    const api = useGatewayApi(base)
    expect(await api('/empty', { method: 'DELETE' })).toBeUndefined()
    expect(await api('/text')).toBe('plain words')
  })

  it("errors: the gateway's message with the status; without one the status line; no gateway: where it was looked for", async () => {
    const api = useGatewayApi(base)
    await expect(api('/missing')).rejects.toThrow('No such thing (HTTP 404)')
    await expect(api('/broken')).rejects.toMatchObject({ statusCode: 502, data: 'bad gateway', message: expect.stringContaining('502') })
    await expect(useGatewayApi('http://127.0.0.1:1')('/api/v1/workers')).rejects.toThrow(
      /^Cannot reach the gateway at http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED .*ktrdr up/,
    )
  })
})
