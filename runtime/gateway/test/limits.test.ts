// Limits come from the resolved options only: what a route applies is what resolveGatewayOptions
// gave, whatever the gateway's process environment says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRealGateway, type RealGateway } from '../../../test/kit/index.ts'
import { resolveGatewayOptions } from '../index.ts'
import { bundle } from '../registry/test/_bundle.ts'

const MB = 1024 * 1024

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
  let g: RealGateway
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${g.url}${path}`, init)
    return { status: res.status, body: (await res.json()) as { keep_last: number; deleted: { version: number }[] } }
  }

  beforeAll(async () => {
    g = await startRealGateway({ functionKeepLast: 1 })
  })
  afterAll(async () => {
    await g?.close()
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
