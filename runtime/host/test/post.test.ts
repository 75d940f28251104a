import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createJsonPoster, HttpStatusError } from '../_post.ts'

const servers: http.Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`
}

describe('gateway JSON poster', () => {
  it('posts JSON under the base path with the given headers and returns the parsed answer', async () => {
    const seen: Array<{ url?: string; auth?: string; body: string }> = []
    const base = await serve((req, res) => {
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        seen.push({ url: req.url, auth: req.headers.authorization, body })
        res.setHeader('content-type', 'application/json')
        res.end('{"acked_seq":3}')
      })
    })
    const poster = createJsonPoster(base, { authorization: 'Bearer t' })
    try {
      expect(await poster.post('/workers/w1/events', { events: [1] }, { timeoutMs: 2000 })).toEqual({ acked_seq: 3 })
      expect(await poster.post('/workers/w1/events', { events: [2] }, { timeoutMs: 2000 })).toEqual({ acked_seq: 3 })
      expect(seen).toEqual([
        { url: '/api/v1/workers/w1/events', auth: 'Bearer t', body: '{"events":[1]}' },
        { url: '/api/v1/workers/w1/events', auth: 'Bearer t', body: '{"events":[2]}' },
      ])
    } finally {
      poster.close()
    }
  })

  it('rejects a non-2xx answer with its status code and body, and a silent server after the timeout', async () => {
    const missing = createJsonPoster(
      await serve((_req, res) => {
        res.statusCode = 404
        res.end('{"code":"WORKER_NOT_FOUND"}')
      }),
      {},
    )
    const silent = createJsonPoster(await serve(() => {}), {})
    try {
      const error = await missing.post('/x', {}, { timeoutMs: 2000 }).catch((e) => e)
      expect(error).toBeInstanceOf(HttpStatusError)
      expect(error).toMatchObject({ statusCode: 404, data: { code: 'WORKER_NOT_FOUND' } })
      await expect(silent.post('/x', {}, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'ETIMEDOUT' })
    } finally {
      missing.close()
      silent.close()
    }
  })
})
