import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createKtrdrStorage, type KtrdrStorage } from '../../../../storage/index.ts'
import { packArchive, sha256Hex } from '../../../protocol/index.ts'
import type { FunctionManifest } from '../../../protocol/index.ts'
import { createGatewayDatabase, type GatewayDatabase } from '../../_db.ts'
import { createGateway, type Gateway } from '../../index.ts'
import { createFunctionRegistry } from '../registry.ts'
import type { FunctionRegistry } from '../_types.ts'

const enc = new TextEncoder()

/** A minimal valid bundle; `marker` changes the code so each marker is a distinct version. */
function bundle(name: string, marker: string, manifest: Partial<FunctionManifest> = {}): Uint8Array {
  const m: FunctionManifest = {
    name,
    description: `${name} test bundle`,
    operation_type: name,
    input_schema: { type: 'object' },
    placement: {},
    timeout_seconds: 60,
    max_attempts: 1,
    entry: 'server/index.mjs',
    built_at: '1970-01-01T00:00:00.000Z',
    source_commit: null,
    node: '>=20',
    ...manifest,
  }
  return packArchive([
    { name: 'manifest.json', data: enc.encode(JSON.stringify(m)) },
    { name: 'server/index.mjs', data: enc.encode(`// ${marker}\n`) },
  ])
}

let dir: string
let storage: KtrdrStorage
let database: GatewayDatabase
let registry: FunctionRegistry
let notified: number[]

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktrdr-registry-'))
  storage = await createKtrdrStorage({ root: join(dir, 'store') })
  database = await createGatewayDatabase(join(dir, 'gw.db'))
  notified = []
  registry = createFunctionRegistry({ database, storage, notify: (v) => notified.push(v.version) })
})
afterEach(async () => {
  await database.close()
  await storage.dispose()
  await rm(dir, { recursive: true, force: true })
})

describe('function registry', () => {
  it('publishes immutable versions with monotonic numbers, stores the archive under its sha and moves latest', async () => {
    const a = bundle('echo', 'one'),
      b = bundle('echo', 'two')
    const v1 = await registry.publish(a, { name: 'echo', source_commit: 'abc' })
    const v2 = await registry.publish(b, { name: 'echo' })
    expect([v1.version, v2.version]).toEqual([1, 2])
    expect(v1).toMatchObject({
      sha256: sha256Hex(a),
      size: a.byteLength,
      bundle_key: `echo/${sha256Hex(a)}.tgz`,
      source_commit: 'abc',
      created: true,
    })
    expect(new Uint8Array((await storage.bundles.getItemRaw(v1.bundle_key)) as Buffer)).toEqual(a)
    expect((await registry.resolve('echo')).version).toBe(2)
    expect((await registry.resolve('echo@1')).sha256).toBe(v1.sha256)
    expect(notified).toEqual([1, 2])
    // Same bytes again: same version, no new number; latest follows it.
    const again = await registry.publish(a, { name: 'echo' })
    expect(again).toMatchObject({ version: 1, created: false })
    expect((await registry.resolve('echo')).version).toBe(1)
  })

  it('resolves through its caches without serving a stale alias or a collected version', async () => {
    await registry.publish(bundle('echo', 'one'), { name: 'echo' })
    await registry.publish(bundle('echo', 'two'), { name: 'echo' })
    await registry.setAlias('echo', 'stable', [{ version: 2, weight: 100 }])
    expect((await registry.resolve('echo@stable')).version).toBe(2)
    expect((await registry.resolve('echo')).version).toBe(2)
    await registry.setAlias('echo', 'stable', [{ version: 1, weight: 100 }])
    expect((await registry.resolve('echo@stable')).version).toBe(1)
    await registry.rollback('echo')
    expect((await registry.resolve('echo')).version).toBe(1)
    await registry.setAlias('echo', 'stable', [{ version: 1, weight: 100 }])
    expect((await registry.resolve('echo@2')).version).toBe(2)
    const deleted = await registry.collectGarbage({ keepLast: 0, isInUse: () => false })
    expect(deleted.map((v) => v.version)).toEqual([2])
    await expect(registry.resolve('echo@2')).rejects.toMatchObject({ statusCode: 404, code: 'VERSION_NOT_FOUND' })
  })

  it('refuses bad archives with 422 and a name mismatch with 422', async () => {
    await expect(registry.publish(enc.encode('nope'))).rejects.toMatchObject({ statusCode: 422, code: 'BUNDLE_CORRUPT' })
    const noManifest = packArchive([{ name: 'server/index.mjs', data: enc.encode('') }])
    await expect(registry.publish(noManifest)).rejects.toMatchObject({ statusCode: 422, code: 'BUNDLE_MANIFEST_INVALID' })
    const badManifest = packArchive([{ name: 'manifest.json', data: enc.encode('{"name": 3}') }])
    await expect(registry.publish(badManifest)).rejects.toMatchObject({ statusCode: 422, code: 'BUNDLE_MANIFEST_INVALID' })
    await expect(registry.publish(bundle('echo', 'x'), { name: 'train' })).rejects.toMatchObject({
      statusCode: 422,
      code: 'BUNDLE_NAME_MISMATCH',
    })
    const unsafe = packArchive([{ name: '../evil', data: enc.encode('x') }])
    await expect(registry.publish(unsafe)).rejects.toMatchObject({ statusCode: 422 })
    expect(await registry.listFunctions()).toEqual([])
  })

  it('resolves aliases, splits weighted aliases by weight and 404s unknown names, versions and aliases', async () => {
    for (const m of ['a', 'b', 'c']) await registry.publish(bundle('echo', m))
    await registry.setAlias('echo', 'stable', [{ version: 1, weight: 1 }])
    expect((await registry.resolve('echo@stable')).version).toBe(1)
    await registry.setAlias('echo', 'canary', [
      { version: 2, weight: 75 },
      { version: 3, weight: 25 },
    ])
    const counts = new Map<number, number>()
    for (let i = 0; i < 2000; i++) {
      const v = (await registry.resolve('echo@canary')).version
      counts.set(v, (counts.get(v) ?? 0) + 1)
    }
    expect([...counts.keys()].sort()).toEqual([2, 3])
    expect(counts.get(2)! / 2000).toBeGreaterThan(0.68)
    expect(counts.get(2)! / 2000).toBeLessThan(0.82)
    await expect(registry.resolve('nope')).rejects.toMatchObject({ statusCode: 404, code: 'FUNCTION_NOT_FOUND' })
    await expect(registry.resolve('echo@9')).rejects.toMatchObject({ statusCode: 404, code: 'VERSION_NOT_FOUND' })
    await expect(registry.resolve('echo@beta')).rejects.toMatchObject({ statusCode: 404, code: 'ALIAS_NOT_FOUND' })
    await expect(registry.setAlias('echo', 'bad', [{ version: 9, weight: 1 }])).rejects.toMatchObject({ statusCode: 422 })
    await expect(registry.setAlias('echo', 'bad', [{ version: 1, weight: 0 }])).rejects.toMatchObject({ statusCode: 400 })
    await expect(registry.setAlias('echo', '7', [{ version: 1, weight: 1 }])).rejects.toMatchObject({ statusCode: 400 })
  })

  it('rolls latest back one version at a time and says when there is nothing to roll back to', async () => {
    for (const m of ['a', 'b', 'c']) await registry.publish(bundle('echo', m))
    expect((await registry.rollback('echo')).routes).toEqual([{ version: 2, weight: 100 }])
    expect((await registry.rollback('echo')).routes).toEqual([{ version: 1, weight: 100 }])
    await expect(registry.rollback('echo')).rejects.toMatchObject({ statusCode: 409, code: 'NO_PREVIOUS_VERSION' })
    expect((await registry.resolve('echo')).version).toBe(1)
  })

  it('garbage-collects only versions outside keepLast, unaliased and not in use; numbers are never reused', async () => {
    const versions = []
    for (const m of ['a', 'b', 'c', 'd', 'e']) versions.push(await registry.publish(bundle('echo', m)))
    await registry.setAlias('echo', 'stable', [{ version: 1, weight: 1 }])
    const inUse = versions[1]!.sha256
    const deleted = await registry.collectGarbage({ keepLast: 2, isInUse: (sha) => sha === inUse })
    expect(deleted.map((v) => v.version)).toEqual([3])
    expect(await storage.bundles.hasItem(versions[2]!.bundle_key)).toBe(false)
    expect(await storage.bundles.hasItem(versions[1]!.bundle_key)).toBe(true)
    const fn = await registry.getFunction('echo')
    expect(fn!.versions.map((v) => v.version)).toEqual([5, 4, 2, 1])
    const next = await registry.publish(bundle('echo', 'f'))
    expect(next.version).toBe(6)
  })

  it('keeps its state across a reopen of the database', async () => {
    await registry.publish(bundle('echo', 'a'))
    await registry.setAlias('echo', 'stable', [{ version: 1, weight: 1 }])
    await database.close()
    database = await createGatewayDatabase(join(dir, 'gw.db'))
    registry = createFunctionRegistry({ database, storage })
    expect((await registry.resolve('echo@stable')).version).toBe(1)
    expect((await registry.publish(bundle('echo', 'b'))).version).toBe(2)
  })
})

describe('function routes on the gateway', () => {
  let gwDir: string
  let gateway: Gateway
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${gateway.url}${path}`, init)
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null }
  }
  beforeAll(async () => {
    gwDir = await mkdtemp(join(tmpdir(), 'ktrdr-fn-routes-'))
    gateway = await createGateway({
      port: 0,
      quiet: true,
      dbPath: join(gwDir, 'gw.db'),
      storage: { root: join(gwDir, 'store') },
      apiToken: null,
      clusterToken: null,
      maxBundleBytes: 64 * 1024,
    })
  })
  afterAll(async () => {
    await gateway?.close()
    await rm(gwDir, { recursive: true, force: true })
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
