import { afterEach, describe, expect, it } from 'vitest'
import { packArchive } from '../../protocol/index.ts'
import type { FunctionManifest } from '../../protocol/index.ts'
import { startRealGateway, until, type ApiInit, type RealGateway } from '../../../test/kit/index.ts'

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

let dir: string | undefined
let g: RealGateway | undefined
/** A gateway on `dir`: a second start after `g.close(true)` finds what the first one stored. */
const start = async () => {
  g = await startRealGateway({}, dir)
  dir = g.dir
  return g.gateway
}
const api = (path: string, init?: ApiInit) => g!.api(path, init)
const invoke = (input: unknown) => api('/api/v1/functions/strict/invoke', { body: { input } })
const publish = () => api('/api/v1/functions/strict/versions', { raw: bundle('one'), contentType: 'application/gzip' })

afterEach(async () => {
  await g?.close()
  g = undefined
  dir = undefined
})

describe('input validators are compiled before the first invocation', () => {
  it('compiles at publish, so the first invocation after a deploy compiles nothing and still validates', async () => {
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
    await start()
    expect((await publish()).status).toBe(201)
    await g!.close(true)
    const gw = await start()
    // Warming runs one schema per event-loop turn after start; nothing announces its end.
    await until(() => gw.services.validateInput.stats.compiles > 0, 2000, 'the aliased schema compiled')
    expect(gw.services.validateInput.stats.compiles).toBe(1)
    expect((await invoke({ symbol: 7 })).status).toBe(422)
    expect((await invoke({ symbol: 'EURUSD' })).status).toBe(202)
    expect(gw.services.validateInput.stats.compiles).toBe(1)
  })
})
