// Limits come from the resolved options only: what a route applies is what resolveGatewayOptions
// gave, whatever the gateway's process environment says.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packArchive, type FunctionManifest } from '../../protocol/index.ts'
import { createGateway, resolveGatewayOptions, type Gateway } from '../index.ts'

const enc = new TextEncoder()
const MB = 1024 * 1024

function bundle(name: string, marker: string): Uint8Array {
  const manifest: FunctionManifest = {
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
  }
  return packArchive([
    { name: 'manifest.json', data: enc.encode(JSON.stringify(manifest)) },
    { name: 'server/index.mjs', data: enc.encode(`// ${marker}\n`) },
  ])
}

describe('resolveGatewayOptions: upload cap and gc default', () => {
  it('takes the bundle cap in bytes or in MB, the gc default from KTRDR_FUNCTION_KEEP_LAST; config wins', () => {
    expect(resolveGatewayOptions({}, {})).toMatchObject({ maxBundleBytes: 512 * MB, functionKeepLast: 3 })
    expect(resolveGatewayOptions({}, { KTRDR_MAX_BUNDLE_MB: '2', KTRDR_FUNCTION_KEEP_LAST: '5' })).toMatchObject({
      maxBundleBytes: 2 * MB,
      functionKeepLast: 5,
    })
    expect(resolveGatewayOptions({}, { KTRDR_MAX_BUNDLE_BYTES: '1000', KTRDR_MAX_BUNDLE_MB: '2' }).maxBundleBytes).toBe(1000)
    expect(
      resolveGatewayOptions({ maxBundleBytes: 7, functionKeepLast: 0 }, { KTRDR_MAX_BUNDLE_MB: '2', KTRDR_FUNCTION_KEEP_LAST: '5' }),
    ).toMatchObject({
      maxBundleBytes: 7,
      functionKeepLast: 0,
    })
  })

  it('refuses nonsense instead of falling back to a default', () => {
    expect(() => resolveGatewayOptions({}, { KTRDR_MAX_BUNDLE_MB: 'lots' })).toThrow(/KTRDR_MAX_BUNDLE_MB="lots"/)
    expect(() => resolveGatewayOptions({}, { KTRDR_FUNCTION_KEEP_LAST: '-1' })).toThrow(/KTRDR_FUNCTION_KEEP_LAST/)
  })
})

describe('POST /api/v1/functions/gc without keep_last', () => {
  let dir: string
  let gateway: Gateway
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${gateway.url}${path}`, init)
    return { status: res.status, body: (await res.json()) as { keep_last: number; deleted: { version: number }[] } }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ktrdr-limits-'))
    gateway = await createGateway({
      port: 0,
      quiet: true,
      dbPath: join(dir, 'gw.db'),
      storage: { root: join(dir, 'store') },
      apiToken: null,
      clusterToken: null,
      functionKeepLast: 1,
    })
  })
  afterAll(async () => {
    await gateway?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it("keeps the resolved options' number of versions", async () => {
    for (const marker of ['a', 'b', 'c']) {
      const up = await api('/api/v1/functions/gcfn/versions', { method: 'POST', body: bundle('gcfn', marker) })
      expect(up.status).toBe(201)
    }
    const gc = await api('/api/v1/functions/gc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(gc.status).toBe(200)
    expect(gc.body.keep_last).toBe(1)
    expect(gc.body.deleted.map((v) => v.version).sort()).toEqual([1, 2])
  })
})
