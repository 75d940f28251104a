// The function registry on either backend (SQLite here via registry.test.ts, PostgreSQL via
// runtime/gateway/test/postgres.cluster.test.ts): the same calls, the same answers.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createKtrdrStorage, type KtrdrStorage } from '../../../../storage/index.ts'
import { packArchive, sha256Hex } from '../../../protocol/index.ts'
import type { GatewayDatabase } from '../../_db.ts'
import type { TestBackend, TestDatabase } from '../../test/_backends.ts'
import { createFunctionRegistry } from '../registry.ts'
import type { FunctionRegistry } from '../_types.ts'
import { bundle, enc } from './_bundle.ts'

export function describeRegistry(backend: TestBackend) {
  describe(`function registry on ${backend.name}`, () => {
    let dir: string
    let storage: KtrdrStorage
    let db: TestDatabase
    let database: GatewayDatabase
    let registry: FunctionRegistry
    let notified: number[]

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ktrdr-registry-'))
      storage = await createKtrdrStorage({ root: join(dir, 'store') })
      db = await backend.fresh(dir)
      database = await db.open()
      notified = []
      registry = createFunctionRegistry({ database, storage, notify: (v) => notified.push(v.version) })
    })
    afterEach(async () => {
      await database.close()
      await storage.dispose()
      await rm(dir, { recursive: true, force: true })
    })

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
      database = await db.open()
      registry = createFunctionRegistry({ database, storage })
      expect((await registry.resolve('echo@stable')).version).toBe(1)
      expect((await registry.publish(bundle('echo', 'b'))).version).toBe(2)
    })
  })
}
