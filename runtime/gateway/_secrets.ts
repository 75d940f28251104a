import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { KtrdrError } from '../protocol/index.ts'
import type { GatewayDatabase } from './_db.ts'
import { blobType, type SqlClient } from './_sql.ts'

export const SECRETS_KEY_FILE = 'secrets.key'
/** Environment variable names; KTRDR_* are the hosts' own and never a function's. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/
export const MAX_SECRET_BYTES = 64 * 1024

const schema = (sql: SqlClient) => `
CREATE TABLE IF NOT EXISTS function_secrets (
  function_name TEXT NOT NULL,
  name TEXT NOT NULL,
  iv ${blobType(sql)} NOT NULL,
  tag ${blobType(sql)} NOT NULL,
  ciphertext ${blobType(sql)} NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (function_name, name)
);
`

interface SecretRow {
  name: string
  iv: Buffer
  tag: Buffer
  ciphertext: Buffer
  updated_at: string
}

export interface SecretInfo {
  name: string
  updated_at: string
}

/**
 * The 32-byte key: KTRDR_SECRETS_KEY (base64 or hex) when set, else `secrets.key` beside the
 * database, generated on first start with mode 0600. A throwaway ':memory:' gateway gets a key in memory.
 */
export function resolveSecretsKey(options: { secretsKey: string | null; dbPath: string }): Buffer {
  if (options.secretsKey) {
    const raw = options.secretsKey.trim()
    const key = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64')
    if (key.length !== 32)
      throw new KtrdrError({
        code: 'CONFIG_INVALID',
        message: 'KTRDR_SECRETS_KEY must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)',
      })
    return key
  }
  if (options.dbPath === ':memory:') return randomBytes(32)
  const file = join(dirname(options.dbPath), SECRETS_KEY_FILE)
  if (!existsSync(file)) {
    try {
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')
  if (key.length !== 32)
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `${file} does not hold a 32-byte base64 key`,
    })
  return key
}

export interface SecretStore {
  set(fn: string, name: string, value: string): Promise<SecretInfo>
  remove(fn: string, name: string): Promise<boolean>
  /** Names and change times, never values. */
  list(fn: string): SecretInfo[]
  /** Name → value for dispatches of `fn` (empty when it has none); 500 SECRET_UNREADABLE when the key changed. */
  forFunction(fn: string): Record<string, string>
  /** Short fingerprint of the key (never the key), for `GET` answers and logs. */
  keyId: string
}

/**
 * Per-function secrets, AES-256-GCM at rest (a fresh 12-byte IV per value, the function and
 * secret names bound in as associated data so a row copied to another function does not decrypt).
 * The encrypted rows are read once at start and written through (this gateway is their only
 * writer), so a dispatch never waits for the database; decrypted sets are cached per function and
 * dropped on every change.
 */
export async function createSecretStore(database: GatewayDatabase, key: Buffer): Promise<SecretStore> {
  const { sql } = database
  await sql.exec(schema(sql))
  const stored = new Map<string, Map<string, SecretRow>>()
  const rowsOf = (fn: string) => {
    let rows = stored.get(fn)
    if (!rows) stored.set(fn, (rows = new Map()))
    return rows
  }
  for (const r of await sql.all<SecretRow & { function_name: string }>(
    'SELECT function_name, name, iv, tag, ciphertext, updated_at FROM function_secrets',
  )) {
    rowsOf(r.function_name).set(r.name, { name: r.name, iv: r.iv, tag: r.tag, ciphertext: r.ciphertext, updated_at: r.updated_at })
  }
  const cache = new Map<string, Record<string, string>>()
  const aad = (fn: string, name: string) => Buffer.from(`${fn}\0${name}`)

  return {
    async set(fn: string, name: string, value: string): Promise<SecretInfo> {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(aad(fn, name))
      const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()])
      const tag = cipher.getAuthTag()
      const updated_at = new Date().toISOString()
      await sql.run(
        `INSERT INTO function_secrets (function_name, name, iv, tag, ciphertext, updated_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (function_name, name) DO UPDATE SET iv = excluded.iv, tag = excluded.tag, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
        [fn, name, iv, tag, ciphertext, updated_at],
      )
      rowsOf(fn).set(name, { name, iv, tag, ciphertext, updated_at })
      cache.delete(fn)
      return { name, updated_at }
    },
    async remove(fn: string, name: string): Promise<boolean> {
      const { changes } = await sql.run(`DELETE FROM function_secrets WHERE function_name = ? AND name = ?`, [fn, name])
      stored.get(fn)?.delete(name)
      cache.delete(fn)
      return changes > 0
    },
    list(fn: string): SecretInfo[] {
      return [...(stored.get(fn)?.values() ?? [])]
        .map((r) => ({ name: r.name, updated_at: r.updated_at }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    },
    /** Name → value for dispatches of `fn` (empty when it has none). */
    forFunction(fn: string): Record<string, string> {
      let values = cache.get(fn)
      if (!values) {
        values = {}
        for (const row of stored.get(fn)?.values() ?? []) {
          try {
            const decipher = createDecipheriv('aes-256-gcm', key, row.iv)
            decipher.setAAD(aad(fn, row.name))
            decipher.setAuthTag(row.tag)
            values[row.name] = Buffer.concat([decipher.update(row.ciphertext), decipher.final()]).toString('utf8')
          } catch (cause) {
            throw new KtrdrError({
              code: 'SECRET_UNREADABLE',
              cause,
              message: `Secret ${row.name} of ${fn} does not decrypt with this gateway's key (KTRDR_SECRETS_KEY or ${SECRETS_KEY_FILE} changed?); set it again`,
            })
          }
        }
        cache.set(fn, values)
      }
      return values
    },
    /** Short fingerprint of the key (never the key), for `GET` answers and logs. */
    keyId: createHash('sha256').update(key).digest('hex').slice(0, 8),
  }
}
