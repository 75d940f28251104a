// Static assets at a prefix: what is in the set is served (gzip, ETag, 304), nothing else is.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { createApp, toNodeListener } from 'h3'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createPolicyRouter, createStaticAssets } from '../index.ts'

let dir: string
let server: Server
let base: URL

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ktrdr-static-'))
  mkdirSync(join(dir, 'site', 'js'), { recursive: true })
  writeFileSync(join(dir, 'site', 'index.html'), '<!doctype html><title>x</title>')
  writeFileSync(join(dir, 'site', 'js', 'app.js'), `export const big = ${JSON.stringify('x'.repeat(5000))}\n`)
  writeFileSync(join(dir, 'site', '.hidden'), 'secret')
  writeFileSync(join(dir, 'outside.txt'), 'not served')
  writeFileSync(join(dir, 'lib.mjs'), 'export default 1\n')
  const assets = createStaticAssets({
    prefix: '/ui',
    dir: join(dir, 'site'),
    files: { 'vendor/lib.mjs': join(dir, 'lib.mjs') },
    headers: (name) => (name.endsWith('.html') ? { 'content-security-policy': "default-src 'self'" } : undefined),
  })
  expect(assets.names).toEqual(['index.html', 'js/app.js', 'vendor/lib.mjs'])
  const router = createPolicyRouter(() => {}, { auth: 'public', body: 'json' })
  router.get('/ui', assets.handler)
  router.get('/ui/**', assets.handler)
  const app = createApp({ onError: (e, event) => void event.node.res.writeHead((e as { statusCode?: number }).statusCode ?? 500).end() })
  app.use(router.handler)
  server = createServer(toNodeListener(app))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
afterAll(async () => {
  await new Promise((r) => server.close(r))
  rmSync(dir, { recursive: true, force: true })
})

function get(path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end()
  })
}

it('serves the index at the bare prefix and files by name, with their type and extra headers', async () => {
  for (const path of ['/ui', '/ui/', '/ui/index.html']) {
    const r = await get(path)
    expect(r.status, path).toBe(200)
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(r.headers['content-security-policy']).toBe("default-src 'self'")
    expect(r.body.toString()).toContain('<title>x</title>')
  }
  const lib = await get('/ui/vendor/lib.mjs')
  expect(lib.status).toBe(200)
  expect(lib.headers['content-type']).toBe('text/javascript; charset=utf-8')
  expect(lib.headers['x-content-type-options']).toBe('nosniff')
  expect(lib.headers['content-security-policy']).toBeUndefined()
})

it('gzips large text when asked, and answers 304 to a matching ETag', async () => {
  const plain = await get('/ui/js/app.js')
  const zipped = await get('/ui/js/app.js', { 'accept-encoding': 'gzip, br' })
  expect(zipped.headers['content-encoding']).toBe('gzip')
  expect(zipped.body.length).toBeLessThan(plain.body.length / 10)
  expect(gunzipSync(zipped.body)).toEqual(plain.body)
  expect(Number(zipped.headers['content-length'])).toBe(zipped.body.length)
  const etag = plain.headers.etag as string
  expect(etag).toMatch(/^"[\w-]{22}"$/)
  const again = await get('/ui/js/app.js', { 'if-none-match': `W/${etag}` })
  expect(again.status).toBe(304)
  expect(again.body.length).toBe(0)
  expect((await get('/ui/js/app.js', { 'if-none-match': '"other"' })).status).toBe(200)
})

it('serves nothing outside the set: hidden files, the parent folder, traversal spellings, unknown names', async () => {
  for (const path of ['/ui/.hidden', '/ui/../outside.txt', '/ui/%2e%2e/outside.txt', '/ui/js/../../outside.txt', '/ui/nope.js', '/ui/js']) {
    const r = await get(path)
    expect(r.status, path).toBe(404)
    expect(r.body.toString(), path).not.toMatch(/not served|secret/)
  }
})
