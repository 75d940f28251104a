// Function secrets and host secrets on either backend (SQLite via secrets.test.ts, PostgreSQL via
// postgres.cluster.test.ts): stored encrypted or hashed, read back by a restarted gateway.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GatewayDatabase } from '../_db.ts'
import { createHostSecrets } from '../_host-secrets.ts'
import { createSecretStore } from '../_secrets.ts'
import type { TestBackend, TestDatabase } from './_backends.ts'

export function describeSecretStores(backend: TestBackend) {
  describe(`secret stores on ${backend.name}`, () => {
    let dir: string
    let fresh: TestDatabase
    let db: GatewayDatabase
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ktrdr-secrets-'))
      fresh = await backend.fresh(dir)
      db = await fresh.open()
    })
    afterAll(async () => {
      await db.close()
      await rm(dir, { recursive: true, force: true })
    })

    it('encrypts at rest, decrypts per function, and a wrong key is a clear error', async () => {
      const store = await createSecretStore(db, Buffer.alloc(32, 1))
      await store.set('fa', 'API_KEY', 'value-a1')
      await store.set('fb', 'API_KEY', 'value-b1')
      expect(store.forFunction('fa')).toEqual({ API_KEY: 'value-a1' })
      expect(store.forFunction('fb')).toEqual({ API_KEY: 'value-b1' })
      expect(store.forFunction('fc')).toEqual({})
      const rows = await db.sql.all('SELECT * FROM function_secrets')
      expect(JSON.stringify(rows)).not.toContain('value-')
      expect(store.list('fa')).toEqual([{ name: 'API_KEY', updated_at: expect.any(String) }])
      await store.set('fa', 'API_KEY', 'value-a2')
      expect(store.forFunction('fa')).toEqual({ API_KEY: 'value-a2' })
      // What is stored is what a restarted gateway (or the standby taking over) reads back.
      expect((await createSecretStore(db, Buffer.alloc(32, 1))).forFunction('fa')).toEqual({ API_KEY: 'value-a2' })
      // A row moved to another function does not decrypt there (names are bound in as associated data).
      await db.sql.run(`UPDATE function_secrets SET function_name = 'fz' WHERE function_name = 'fb'`)
      const reopened = await createSecretStore(db, Buffer.alloc(32, 1))
      expect(() => reopened.forFunction('fz')).toThrow(/does not decrypt/)
      expect(reopened.forFunction('fb')).toEqual({})
      await expect(createSecretStore(db, Buffer.alloc(32, 2)).then((s) => s.forFunction('fa'))).rejects.toThrow(
        /SECRETS_KEY|does not decrypt/,
      )
      expect(await store.remove('fa', 'API_KEY')).toBe(true)
      expect(await store.remove('fa', 'API_KEY')).toBe(false)
      expect(store.forFunction('fa')).toEqual({})
    })

    it('keeps host secrets as hashes, confirms them once presented, and a reopened database knows every owner', async () => {
      const hosts = await createHostSecrets(db)
      const secret = hosts.issue('h1', 'http://10.0.0.5:5003')
      await hosts.flushed()
      expect(hosts.check('h1', 'wrong')).toBe('wrong')
      expect(hosts.owner('h1')).toEqual({ endpoint_url: 'http://10.0.0.5:5003', confirmed: false })
      expect(hosts.check('h1', secret)).toBe('ok')
      expect(hosts.check('h2', secret)).toBe('none')
      hosts.issue('h2', 'http://10.0.0.6:5003')
      await hosts.flushed()
      expect(JSON.stringify(await db.sql.all('SELECT * FROM host_secrets'))).not.toContain(secret)

      // What a restarted gateway (or the standby taking over) reads back.
      const again = await (async () => {
        const reopened = await fresh.open()
        try {
          const h = await createHostSecrets(reopened)
          return { h1: h.owner('h1'), check: h.check('h1', secret), h2: h.owner('h2') }
        } finally {
          await reopened.close()
        }
      })()
      expect(again).toEqual({
        h1: { endpoint_url: 'http://10.0.0.5:5003', confirmed: true },
        check: 'ok',
        h2: { endpoint_url: 'http://10.0.0.6:5003', confirmed: false },
      })
      expect(hosts.forget('h2')).toBe(true)
      expect(hosts.forget('h2')).toBe(false)
      await hosts.flushed()
      expect(await db.sql.get('SELECT worker_id FROM host_secrets WHERE worker_id = ?', ['h2'])).toBeUndefined()
    })
  })
}
