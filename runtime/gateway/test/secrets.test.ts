import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGatewayDatabase, type SqliteGatewayDatabase } from '../_db.ts'
import { createSecretStore, resolveSecretsKey } from '../_secrets.ts'

let dir: string
let db: SqliteGatewayDatabase
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktrdr-secrets-unit-'))
  db = await createGatewayDatabase(join(dir, 'gateway.db'))
})
afterAll(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

describe('secret store', () => {
  it('generates a 0600 key file beside the database once and reuses it', async () => {
    const key = resolveSecretsKey({ secretsKey: null, dbPath: join(dir, 'gateway.db') })
    expect(key.length).toBe(32)
    expect((await stat(join(dir, 'secrets.key'))).mode & 0o777).toBe(0o600)
    expect(resolveSecretsKey({ secretsKey: null, dbPath: join(dir, 'gateway.db') }).equals(key)).toBe(true)
    expect(() => resolveSecretsKey({ secretsKey: 'too-short', dbPath: ':memory:' })).toThrow(/32 bytes/)
    expect(resolveSecretsKey({ secretsKey: 'ab'.repeat(32), dbPath: ':memory:' })).toEqual(Buffer.alloc(32, 0xab))
  })

  it('encrypts at rest, decrypts per function, and a wrong key is a clear error', async () => {
    const store = await createSecretStore(db, Buffer.alloc(32, 1))
    await store.set('fa', 'API_KEY', 'value-a1')
    await store.set('fb', 'API_KEY', 'value-b1')
    expect(store.forFunction('fa')).toEqual({ API_KEY: 'value-a1' })
    expect(store.forFunction('fb')).toEqual({ API_KEY: 'value-b1' })
    expect(store.forFunction('fc')).toEqual({})
    const rows = db.sqlite.prepare('SELECT * FROM function_secrets').all() as Array<Record<string, unknown>>
    expect(JSON.stringify(rows)).not.toContain('value-')
    expect(store.list('fa')).toEqual([{ name: 'API_KEY', updated_at: expect.any(String) }])
    await store.set('fa', 'API_KEY', 'value-a2')
    expect(store.forFunction('fa')).toEqual({ API_KEY: 'value-a2' })
    // What is stored is what a restarted gateway (or the standby taking over) reads back.
    expect((await createSecretStore(db, Buffer.alloc(32, 1))).forFunction('fa')).toEqual({ API_KEY: 'value-a2' })
    // A row moved to another function does not decrypt there (names are bound in as associated data).
    db.sqlite.prepare(`UPDATE function_secrets SET function_name = 'fz' WHERE function_name = 'fb'`).run()
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
})
