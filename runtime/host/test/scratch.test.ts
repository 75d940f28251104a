// The scratch directory an invocation gets (ctx.scratchDir, made on first read) is gone once it ends:
// the executor's result says whether it made one, and the host removes it then.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHost, type KtrdrHost } from '../index.ts'
import { FUNCTION_FIXTURES, tempStorage, until, type TempStorage } from '../../../test/kit/index.ts'
import { buildAndStore, dispatchRequest, invokeAndWait, testHostConfig, type Published } from './_setup.ts'
import { startFakeGateway } from './_fake-gateway.ts'

let env: TempStorage
let fn: Published
let host: KtrdrHost
let gateway: Awaited<ReturnType<typeof startFakeGateway>>
let cacheDir: string

beforeAll(async () => {
  env = await tempStorage('ktrdr-host-scratch-')
  fn = await buildAndStore(join(FUNCTION_FIXTURES, 'scratch-user'), env.storage, join(env.root, 'build'))
  gateway = await startFakeGateway()
  cacheDir = join(env.root, 'cache')
  host = await createHost(testHostConfig({ apiUrl: gateway.url, storage: { root: env.storageRoot }, cacheDir, slots: 2 }))
  await host.registered
}, 120_000)

afterAll(async () => {
  await host?.close({ timeoutMs: 1000 })
  await gateway?.close()
  await env?.cleanup()
})

const scratchEntries = () => (existsSync(join(cacheDir, 'scratch')) ? readdirSync(join(cacheDir, 'scratch')) : [])

describe('scratch directories', () => {
  it('one the function wrote into is removed after the invocation; one it never read is never made', async () => {
    const used = await invokeAndWait(host.url, dispatchRequest(fn.ref, { write: true }))
    expect(used.status).toBe('completed')
    const dir = used.result.dir as string
    expect(dir.startsWith(join(cacheDir, 'scratch'))).toBe(true)
    await until(() => !existsSync(dir), 10_000, 'the used scratch directory removed')

    const unused = await invokeAndWait(host.url, dispatchRequest(fn.ref, { write: false }))
    expect(unused).toMatchObject({ status: 'completed', result: { dir: null } })
    expect(scratchEntries()).toEqual([])
  })
})
