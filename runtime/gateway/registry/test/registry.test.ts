import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGateway, type Gateway } from '../../index.ts'
import { sqliteBackend } from '../../test/_backends.ts'
import { bundle, enc } from './_bundle.ts'
import { describeRegistry } from './_registry-cases.ts'

describeRegistry(sqliteBackend)

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
    expect(list.body).toEqual([expect.objectContaining({ name: 'echo', latest: 2, versions: 2 })])
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
