import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveSecretsKey } from '../_secrets.ts'
import { sqliteBackend } from './_backends.ts'
import { describeSecretStores } from './_secrets-cases.ts'

describe('secrets key', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ktrdr-secrets-key-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('generates a 0600 key file beside the database once and reuses it', async () => {
    const key = resolveSecretsKey({ secretsKey: null, dbPath: join(dir, 'gateway.db') })
    expect(key.length).toBe(32)
    expect((await stat(join(dir, 'secrets.key'))).mode & 0o777).toBe(0o600)
    expect(resolveSecretsKey({ secretsKey: null, dbPath: join(dir, 'gateway.db') }).equals(key)).toBe(true)
    expect(() => resolveSecretsKey({ secretsKey: 'too-short', dbPath: ':memory:' })).toThrow(/32 bytes/)
    expect(resolveSecretsKey({ secretsKey: 'ab'.repeat(32), dbPath: ':memory:' })).toEqual(Buffer.alloc(32, 0xab))
  })
})

// The stores themselves, on SQLite (on PostgreSQL too: postgres.cluster.test.ts).
describeSecretStores(sqliteBackend)
