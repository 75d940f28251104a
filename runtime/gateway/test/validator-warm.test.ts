import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { packArchive } from '../../protocol/index.ts'
import type { FunctionManifest } from '../../protocol/index.ts'
import { createGateway, type Gateway } from '../index.ts'
import { api as request, until, type ApiInit } from '../../../test/kit/index.ts'

const enc = new TextEncoder()
const schema = {
  type: 'object',
  properties: { symbol: { type: 'string' }, bars: { type: 'integer', minimum: 1 } },
  required: ['symbol'],
  additionalProperties: false,
}

function bundle(marker: string): Uint8Array {
  const m: FunctionManifest = {
    name: 'strict',
    description: 'schema test bundle',
    operation_type: 'strict',
    input_schema: schema,
    placement: {},
    timeout_seconds: 60,
    max_attempts: 1,
    entry: 'server/index.mjs',
    built_at: '1970-01-01T00:00:00.000Z',
    source_commit: null,
    node: '>=20',
  }
  return packArchive([
    { name: 'manifest.json', data: enc.encode(JSON.stringify(m)) },
    { name: 'server/index.mjs', data: enc.encode(`// ${marker}\n`) },
  ])
}

let dir: string
let gateway: Gateway | undefined
const start = async () =>
  (gateway = await createGateway({
    port: 0,
    quiet: true,
    dbPath: join(dir, 'gw.db'),
    storage: { root: join(dir, 'store') },
    apiToken: null,
    clusterToken: null,
  }))
const api = (path: string, init?: ApiInit) => request(gateway!.url, path, init)
const invoke = (input: unknown) => api('/api/v1/functions/strict/invoke', { body: { input } })
const publish = () => api('/api/v1/functions/strict/versions', { raw: bundle('one'), contentType: 'application/gzip' })

afterEach(async () => {
  await gateway?.close()
  gateway = undefined
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('input validators are compiled before the first invocation', () => {
  it('compiles at publish, so the first invocation after a deploy compiles nothing and still validates', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ktrdr-warm-'))
    const gw = await start()
    expect((await publish()).status).toBe(201)
    const after = gw.services.validateInput.stats.compiles
    expect(after).toBeGreaterThanOrEqual(1)
    const bad = await invoke({ bars: 0 })
    expect(bad.status).toBe(422)
    expect(bad.body.code ?? bad.body.data?.code).toBe('INPUT_INVALID')
    expect((await invoke({ symbol: 'EURUSD', bars: 3 })).status).toBe(202)
    expect(gw.services.validateInput.stats.compiles).toBe(after)
  })

  it('compiles the aliased versions at gateway start', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ktrdr-warm-'))
    await start()
    expect((await publish()).status).toBe(201)
    await gateway!.close()
    const gw = await start()
    // Warming runs one schema per event-loop turn after start; nothing announces its end.
    await until(() => gw.services.validateInput.stats.compiles > 0, 2000, 'the aliased schema compiled')
    expect(gw.services.validateInput.stats.compiles).toBe(1)
    expect((await invoke({ symbol: 7 })).status).toBe(422)
    expect((await invoke({ symbol: 'EURUSD' })).status).toBe(202)
    expect(gw.services.validateInput.stats.compiles).toBe(1)
  })
})
