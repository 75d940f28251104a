import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createKtrdrStorage, type KtrdrStorage } from '../../../../storage/index.ts'
import { sha256Hex } from '../../../protocol/index.ts'
import type { GatewayDatabase } from '../../_db.ts'
import { sqliteBackend } from '../../test/_backends.ts'
import { startRealGateway, type RealGateway } from '../../../../test/kit/index.ts'
import { createFunctionRegistry } from '../registry.ts'
import type { FunctionRegistry } from '../_types.ts'
import { bundle, enc } from './_bundle.ts'
import { describeRegistry } from './_registry-cases.ts'

describeRegistry(sqliteBackend)

/** Every file under `root`, relative (temporary files included). */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length + 1))
}

// Uploads stream through the storage side of the registry, whichever database records the versions.
describe('streamed publishing', () => {
  let dir: string
  let storage: KtrdrStorage
  let database: GatewayDatabase
  let registry: FunctionRegistry
  const bundles = () => join(dir, 'store', 'bundles')
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ktrdr-registry-stream-'))
    storage = await createKtrdrStorage({ root: join(dir, 'store') })
    database = await (await sqliteBackend.fresh(dir)).open()
    registry = createFunctionRegistry({ database, storage })
  })
  afterEach(async () => {
    await database.close()
    await storage.dispose()
    await rm(dir, { recursive: true, force: true })
  })

  it('a stream and its bytes publish the same version: same sha256, same stored bytes', async () => {
    const bytes = bundle('echo', 'streamed')
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => Buffer.from(bytes.subarray(i * 7, i * 7 + 7)))
    const streamed = await registry.publish(Readable.from(chunks), { name: 'echo' })
    expect(streamed).toMatchObject({ version: 1, created: true, sha256: sha256Hex(bytes), size: bytes.length })
    expect(new Uint8Array(await readFile(join(bundles(), streamed.bundle_key)))).toEqual(bytes)
    expect(await registry.publish(bytes, { name: 'echo' })).toMatchObject({ version: 1, created: false, sha256: sha256Hex(bytes) })
    expect(await filesUnder(bundles())).toEqual([streamed.bundle_key])
  })

  it('past maxBytes, a bad name, a corrupt archive or a stream that fails: an error and nothing left behind', async () => {
    // 4 MB offered against a 256 KB cap (the rest is drained, so that an HTTP client reads the 413).
    let pulled = 0
    const big = new Readable({
      read() {
        this.push(pulled++ < 256 ? randomBytes(16 * 1024) : null)
      },
    })
    await expect(registry.publish(big, { name: 'echo', maxBytes: 256 * 1024 })).rejects.toMatchObject({
      statusCode: 413,
      code: 'BUNDLE_TOO_LARGE',
    })
    await expect(registry.publish(Readable.from([Buffer.from('not a tar.gz')]), { name: 'echo' })).rejects.toMatchObject({
      statusCode: 422,
      code: 'BUNDLE_CORRUPT',
    })
    // Refused before reading: the body is never touched.
    const untouched = new Readable({ read: () => expect.unreachable('read a body for an impossible name') })
    await expect(registry.publish(untouched, { name: 'Bad Name' })).rejects.toMatchObject({ statusCode: 400 })
    // Half an archive, then the connection drops (once the registry is reading).
    const failing = new Readable({
      read() {
        this.push(Buffer.from(bundle('echo', 'half')).subarray(0, 40))
        this.destroy(new Error('connection reset'))
      },
    })
    const failed = registry.publish(failing, { name: 'echo' })
    await expect(failed).rejects.toMatchObject({ statusCode: 400, code: 'BUNDLE_INCOMPLETE' })
    expect(await filesUnder(bundles())).toEqual([])
    expect(await registry.listFunctions()).toEqual([])
  })

  it('an HTTP upload that goes away mid-body leaves nothing behind', async () => {
    const sent = 256 * 1024
    // A server handing the raw request to publish, as the gateway's route does.
    const server = http.createServer()
    let received = 0
    let arrived!: () => void
    const allArrived = new Promise<void>((resolve) => (arrived = resolve))
    const outcome = new Promise<unknown>((resolve) => {
      server.once('request', (req: http.IncomingMessage) => {
        // Counted beside the registry's own reader, from when it starts reading.
        req.once('newListener', (event) => {
          if (event === 'data')
            req.on('data', (chunk: Buffer) => {
              received += chunk.length
              if (received >= sent) arrived()
            })
        })
        registry.publish(req, { name: 'echo' }).then(resolve, resolve)
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const req = http.request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/' })
    req.on('error', () => {})
    req.write(randomBytes(sent))
    await allArrived
    req.destroy()
    expect(await outcome).toMatchObject({ statusCode: 400, code: 'BUNDLE_INCOMPLETE' })
    server.close()
    expect(await filesUnder(bundles())).toEqual([])
  })
})

describe('function routes on the gateway', () => {
  let g: RealGateway
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${g.url}${path}`, init)
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null }
  }
  beforeAll(async () => {
    g = await startRealGateway({ maxBundleBytes: 64 * 1024 })
  })
  afterAll(async () => {
    await g?.close()
  })

  it('publishes, lists, aliases, rolls back and collects garbage over HTTP', async () => {
    const up = (name: string, body: Uint8Array) =>
      api(`/api/v1/functions/${name}/versions`, { method: 'POST', body, headers: { 'content-type': 'application/gzip' } })
    const v1 = await up('echo', bundle('echo', 'one'))
    expect(v1.status).toBe(201)
    expect(v1.body).toMatchObject({ name: 'echo', version: 1 })
    expect((await up('echo', bundle('echo', 'one'))).status).toBe(200)
    expect((await up('echo', bundle('echo', 'two'))).body.version).toBe(2)
    expect((await up('train', bundle('echo', 'three'))).status).toBe(422)
    expect((await up('echo', enc.encode('garbage'))).status).toBe(422)
    expect((await api('/api/v1/functions/echo/versions', { method: 'POST' })).status).toBe(400)
    expect((await up('echo', new Uint8Array(65 * 1024))).status).toBe(413)

    // A host that reports v1 warm shows up under that version.
    const reg = await api('/api/v1/workers/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        worker_id: 'warm-1',
        worker_type: 'general',
        endpoint_url: 'http://127.0.0.1:9',
        capabilities: { cores: 1, memory_gb: 1, gpu: false, ib: false, llm: false, slots: 1 },
        warm_bundles: [v1.body.sha256],
      }),
    })
    expect(reg.status).toBe(200)
    const list = await api('/api/v1/functions')
    expect(list.body).toEqual({
      data: [expect.objectContaining({ name: 'echo', latest: 2, versions: 2 })],
      total_count: 1,
      limit: 1000,
      offset: 0,
    })
    const detail = await api('/api/v1/functions/echo')
    expect(detail.body.versions.find((v: any) => v.version === 1).warm_hosts).toEqual(['warm-1'])
    expect(detail.body.aliases).toEqual([expect.objectContaining({ alias: 'latest', routes: [{ version: 2, weight: 100 }] })])
    expect((await api('/api/v1/functions/nope')).status).toBe(404)

    const put = (alias: string, body: unknown) =>
      api(`/api/v1/functions/echo/aliases/${alias}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    expect((await put('stable', { version: 1 })).body.routes).toEqual([{ version: 1, weight: 100 }])
    expect(
      (
        await put('canary', {
          routes: [
            { version: 1, weight: 50 },
            { version: 2, weight: 50 },
          ],
        })
      ).status,
    ).toBe(200)
    expect((await put('stable', { nope: true })).status).toBe(400)
    expect((await put('stable', { version: 7 })).status).toBe(422)

    expect((await api('/api/v1/functions/echo/rollback', { method: 'POST' })).body.routes).toEqual([{ version: 1, weight: 100 }])
    expect((await api('/api/v1/functions/echo/rollback', { method: 'POST' })).status).toBe(409)

    const gc = await api('/api/v1/functions/gc', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keep_last: 0 }),
    })
    expect(gc.status).toBe(200)
    expect(gc.body.deleted).toEqual([]) // v1 is latest/stable, v2 is in the canary alias
  })
})
