import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toNodeListener } from 'h3'
import { prefixStorage, type Storage } from 'unstorage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createScopedStorage } from '../../function/index.ts'
import type { StorageScope } from '../../protocol/index.ts'
import { createKtrdrStorage, createMountStorage, resolveStorageOptions, type MountConfig } from '../../../storage/index.ts'
import { codeOf, describeStorageContract, statusOf, type StorageContractTarget } from '../../../test/kit/index.ts'
import { createHostApp, type HostApi } from '../_server.ts'
import { createStorageAccess, STORAGE_PROXY_PATH, type FunctionStorageMode, type StorageGrant } from '../_storage-proxy.ts'

/** The host API beside the storage endpoint is not under test here: any call to it fails the test. */
const NO_HOST_API = new Proxy({} as HostApi, {
  get: (_, name) => () => {
    throw new Error(`HostApi.${String(name)} is not part of the storage tests`)
  },
})

/** A host's storage on a temp dir and its HTTP app (real createHostApp, cluster token set) on port 0, serving /_storage. */
async function startStorageHost(mode: FunctionStorageMode) {
  const dir = mkdtempSync(join(tmpdir(), 'ktrdr-host-storage-'))
  const resolved = resolveStorageOptions({ root: join(dir, 'storage') })
  const storage = await createKtrdrStorage(resolved)
  let url = ''
  const access = createStorageAccess({ storage, resolved, mode, url: () => url })
  const server = createServer(toNodeListener(createHostApp(NO_HOST_API, 'cluster', access.handler)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const grants: StorageGrant[] = []
  return {
    url,
    storage,
    access,
    root: resolved.root,
    grant(scope: StorageScope, who = 'Function contract@1') {
      const grant = access.grant(scope, who)
      grants.push(grant)
      return grant
    },
    async close() {
      for (const g of grants) g.revoke()
      await new Promise((resolve) => server.close(resolve))
      await storage.dispose()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const RESULTS_ALLOWED: StorageScope = { results: { access: 'write', prefixes: ['allowed:'] } }
const RESULTS_ALLOWED_READ: StorageScope = { results: { access: 'read', prefixes: ['allowed:'] } }
const HTTP = { metaSize: false, mtimeResolutionMs: 1000 }

/** The contract inside the scope: the function's storage under its declared prefix. */
async function scopedTarget(mode: FunctionStorageMode, view: (grant: StorageGrant) => Promise<Storage>): Promise<StorageContractTarget> {
  const host = await startStorageHost(mode)
  return {
    storage: prefixStorage(await view(host.grant(RESULTS_ALLOWED)), 'allowed'),
    readOnly: prefixStorage(await view(host.grant(RESULTS_ALLOWED_READ, 'Function reader@1')), 'allowed'),
    root: join(host.root, 'results', 'allowed'),
    capabilities: mode === 'proxy' ? HTTP : { metaSize: true, mtimeResolutionMs: 1 },
    close: host.close,
  }
}

const functionView = async (grant: StorageGrant) => (await createScopedStorage(grant.storage)).results
/** The capability used as is, without the executor's own scope check: only the host's check stands. */
const capabilityView = (grant: StorageGrant) => createMountStorage(grant.storage.mounts.results)

describeStorageContract("host /_storage proxy: a function's scoped storage (proxy mode)", () => scopedTarget('proxy', functionView))
describeStorageContract('host /_storage proxy: the capability alone (the host enforces the scope)', () =>
  scopedTarget('proxy', capabilityView),
)
describeStorageContract("direct fs mounts behind a function's scope (direct mode)", () => scopedTarget('direct', functionView))

describe('host /_storage proxy: refusals outside the capability', () => {
  let host: Awaited<ReturnType<typeof startStorageHost>>
  let grant: StorageGrant
  let capability: Storage
  let token: string
  const raw = (path: string, init: RequestInit = {}, auth = token) =>
    fetch(`${host.url}${STORAGE_PROXY_PATH}${path}`, { ...init, headers: { authorization: `Bearer ${auth}`, ...init.headers } })
  const refused = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    )
    expect(error, 'should have been refused').not.toBeNull()
    return { status: statusOf(error), code: codeOf(error) }
  }
  const DENIED = { status: 403, code: 'STORAGE_SCOPE_DENIED' }

  beforeAll(async () => {
    host = await startStorageHost('proxy')
    grant = host.grant({ ...RESULTS_ALLOWED, data: { access: 'read', prefixes: [] } })
    const results = grant.storage.mounts.results as Extract<MountConfig, { headers?: Record<string, string> }>
    token = results.headers!.authorization!.slice('Bearer '.length)
    capability = await createMountStorage(grant.storage.mounts.results)
    await host.storage.results.setItem('elsewhere:secret.json', { secret: true })
    await host.storage.results.setItem('allowedX:lookalike.json', { secret: true })
    await host.storage.models.setItem('m:weights.bin', 'w')
    await host.storage.results.setItem('allowed:mine.json', { mine: true })
  })
  afterAll(async () => {
    await host?.close()
  })

  it('another mount: undeclared is refused for every method, declared read-only refuses writes', async () => {
    for (const init of [{}, { method: 'HEAD' }, { method: 'PUT', body: 'x' }, { method: 'DELETE' }]) {
      const res = await raw('/models/m/weights.bin', init)
      expect(res.status, `${init.method ?? 'GET'} on an undeclared mount`).toBe(403)
    }
    expect((await raw('/models/')).status).toBe(403)
    const fn = await createScopedStorage(grant.storage)
    expect(await refused(fn.models.getItem('m:weights.bin'))).toEqual(DENIED)
    expect(await refused(fn.data.setItem('x', 'y'))).toEqual(DENIED)
    expect((await raw('/data/x', { method: 'PUT', body: 'y' })).status).toBe(403)
    expect(await host.storage.models.getItem('m:weights.bin')).toBe('w')
    expect(await host.storage.data.hasItem('x')).toBe(false)
  })

  it('another prefix, including a look-alike of the declared one, is refused for read, write, list and clear', async () => {
    for (const key of ['elsewhere:secret.json', 'allowedX:lookalike.json']) {
      expect(await refused(capability.getItem(key))).toEqual(DENIED)
      expect(await refused(capability.hasItem(key))).toMatchObject({ status: 403 })
      expect(await refused(capability.setItem(key, 'overwritten'))).toEqual(DENIED)
      expect(await refused(capability.removeItem(key))).toEqual(DENIED)
    }
    expect(await refused(capability.getKeys('elsewhere'))).toEqual(DENIED)
    expect(await refused(capability.clear('elsewhere'))).toEqual(DENIED)
    // A DELETE of a base key is a clear on the host, checked there before anything is listed.
    expect((await raw('/results/elsewhere/', { method: 'DELETE' })).status).toBe(403)
    expect(await host.storage.results.getItem('elsewhere:secret.json')).toEqual({ secret: true })
    expect(await host.storage.results.getItem('allowedX:lookalike.json')).toEqual({ secret: true })
  })

  it('listing a parent of the prefix shows only keys inside it; clearing that parent is refused', async () => {
    expect((await capability.getKeys('')).every((k) => k.startsWith('allowed:'))).toBe(true)
    expect(await capability.getKeys('')).toContain('allowed:mine.json')
    const listed = (await (await raw('/results/')).json()) as string[]
    expect(listed.every((k) => k.startsWith('allowed/'))).toBe(true)
    expect(await refused(capability.clear())).toEqual(DENIED)
    expect((await raw('/results/', { method: 'DELETE' })).status).toBe(403)
    const fn = await createScopedStorage(grant.storage)
    expect(await refused(fn.results.clear(''))).toEqual(DENIED)
    expect(await host.storage.results.hasItem('elsewhere:secret.json')).toBe(true)
    expect(await host.storage.results.hasItem('allowed:mine.json')).toBe(true)
  })

  it('an expired (revoked) capability, an unknown one and the cluster token are all refused: 401 CAPABILITY_INVALID', async () => {
    const short = host.grant(RESULTS_ALLOWED)
    const store = await createMountStorage(short.storage.mounts.results)
    await store.setItem('allowed:before.json', { ok: true })
    short.revoke()
    expect(await refused(store.getItem('allowed:before.json'))).toEqual({ status: 401, code: 'CAPABILITY_INVALID' })
    expect(await refused(store.setItem('allowed:after.json', 'x'))).toEqual({ status: 401, code: 'CAPABILITY_INVALID' })
    const fn = await createScopedStorage(short.storage)
    expect(await refused(fn.results.getItem('allowed:before.json'))).toEqual({ status: 401, code: 'CAPABILITY_INVALID' })
    for (const auth of ['not-a-capability', 'cluster']) expect((await raw('/results/allowed/mine.json', {}, auth)).status).toBe(401)
    expect(await host.storage.results.hasItem('allowed:after.json')).toBe(false)
  })
})
