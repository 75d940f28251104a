import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage } from 'unstorage'
import unstorageHttpDriver from 'unstorage/drivers/http'
import { afterAll, describe, expect, it } from 'vitest'
import { createKtrdrStorage, resolveStorageOptions, type KtrdrStorage } from '../../../storage/index.ts'
import { describeStorageContract, runStorageContractCheck, type StorageContractTarget } from '../../../test/kit/index.ts'
import { createGateway, type Gateway } from '../index.ts'

/**
 * A gateway on port 0 with tokens set, serving `results` from a temp dir and `models` read-only
 * from the same folder (a read-only export, as an operator may configure a mount), and a host's
 * view of it: every mount over HTTP from KTRDR_STORAGE_URL with the cluster token.
 */
async function startStorageGateway() {
  const dir = mkdtempSync(join(tmpdir(), 'ktrdr-gw-storage-'))
  const root = join(dir, 'store', 'results')
  const served = await createKtrdrStorage({ root: join(dir, 'store'), mounts: { models: { driver: 'fs', base: root, readOnly: true } } })
  const gateway: Gateway = await createGateway(
    { port: 0, quiet: true, dbPath: join(dir, 'gateway.db'), apiToken: 'api', clusterToken: 'cluster' },
    { storage: served },
  )
  const env = { KTRDR_STORAGE_URL: `${gateway.url}/api/v1/storage`, KTRDR_CLUSTER_TOKEN: 'cluster' }
  const remote: KtrdrStorage = await createKtrdrStorage(resolveStorageOptions({ root: join(dir, 'unused') }, env))
  return {
    gateway,
    root,
    remote,
    async close() {
      await remote.dispose()
      await gateway.close()
      await served.dispose()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

describeStorageContract('gateway /api/v1/storage over HTTP (a host with KTRDR_STORAGE_URL)', async () => {
  const g = await startStorageGateway()
  return {
    storage: g.remote.results,
    readOnly: g.remote.models,
    root: g.root,
    // HEAD carries Last-Modified only: no size, whole seconds.
    capabilities: { metaSize: false, mtimeResolutionMs: 1000 },
    close: g.close,
  }
})

describe('gateway storage over HTTP', () => {
  let g: Awaited<ReturnType<typeof startStorageGateway>> | undefined
  afterAll(async () => {
    await g?.close()
  })

  it("unstorage's own http driver fails the raw-value and metadata checks that storage/drivers/http.ts passes", async () => {
    g = await startStorageGateway()
    const target: StorageContractTarget = {
      storage: createStorage({
        driver: unstorageHttpDriver({ base: `${g.gateway.url}/api/v1/storage/results`, headers: { authorization: 'Bearer cluster' } }),
      }),
      readOnly: null,
      root: g.root,
      capabilities: { metaSize: false, mtimeResolutionMs: 1000 },
    }
    // It hands back an ArrayBuffer, and a missing key throws a TypeError (reading `_data` of null).
    await expect(runStorageContractCheck('raw values', target)).rejects.toThrow(/should be a Uint8Array/)
    await expect(target.storage.getItemRaw('raw:missing.bin')).rejects.toThrow(TypeError)
    // getMeta of a missing key throws the 404.
    await expect(runStorageContractCheck('getMeta', target)).rejects.toThrow(/404/)
  })

  it('a bad key sent raw is a 400 naming it, with no server path in the answer', async () => {
    g ??= await startStorageGateway()
    const res = await fetch(`${g.gateway.url}/api/v1/storage/results/a%00b`, {
      method: 'PUT',
      headers: { authorization: 'Bearer cluster' },
      body: 'x',
    })
    const text = await res.text()
    expect(res.status).toBe(400)
    expect(JSON.parse(text)).toMatchObject({ code: 'STORAGE_KEY_INVALID' })
    expect(text).not.toContain(g.root)
  })
})
