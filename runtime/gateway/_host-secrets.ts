import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { GatewayDatabase } from './_db.ts'
import { blobType, type SqlClient } from './_sql.ts'

const schema = (sql: SqlClient) => `
CREATE TABLE IF NOT EXISTS host_secrets (
  worker_id TEXT PRIMARY KEY,
  secret_sha256 ${blobType(sql)} NOT NULL,
  endpoint_url TEXT NOT NULL,
  confirmed INTEGER NOT NULL DEFAULT 0,
  issued_at TEXT NOT NULL
)`

interface Row {
  secret_sha256: Buffer
  endpoint_url: string
  confirmed: number
}

const digest = (secret: string) => createHash('sha256').update(secret).digest()

export interface HostSecrets {
  /** Whether `id` has an owner, and where it registered from when the secret was issued. */
  owner(id: string): { endpoint_url: string; confirmed: boolean } | null
  /** 'none': the id has no secret yet; 'ok': `presented` is it; 'wrong': missing or another one. */
  check(id: string, presented: string | undefined | null): 'none' | 'ok' | 'wrong'
  /** A new secret for `id` (replacing any unconfirmed one); the plaintext is returned once. Await `flushed()` before handing it out. */
  issue(id: string, endpointUrl: string): string
  /** The id is free again (DELETE /api/v1/workers/:id). */
  forget(id: string): boolean
  /** Resolves once every change so far is committed; rejects if one failed (the answer must not claim it). */
  flushed(): Promise<void>
}

/**
 * One secret per worker id, issued by the gateway at the id's first registration. Only its sha256
 * is stored (a fast hash suffices: the secret is 32 random bytes, not a password), in the gateway
 * database so a gateway restart (or the standby taking over) still knows who owns which id. A
 * secret is `confirmed` once the host has presented it (see the reconciler's claim for what that
 * changes). Heartbeats and events check the secret on every call, so every row is kept in memory
 * (one per host) and written through; `flushed()` resolves once the writes so far are committed.
 */
export async function createHostSecrets(database: GatewayDatabase): Promise<HostSecrets> {
  const { sql } = database
  await sql.exec(schema(sql))
  const rows = new Map<string, Row>()
  for (const r of await sql.all<Row & { worker_id: string }>(
    'SELECT worker_id, secret_sha256, endpoint_url, confirmed FROM host_secrets',
  )) {
    rows.set(r.worker_id, { secret_sha256: Buffer.from(r.secret_sha256), endpoint_url: r.endpoint_url, confirmed: Number(r.confirmed) })
  }
  const writes = new Set<Promise<unknown>>()
  let failed: Error | null = null
  const write = (text: string, params: unknown[]) => {
    const w = sql.run(text, params).then(
      () => {},
      (error: Error) => {
        failed = error
      },
    )
    writes.add(w)
    void w.finally(() => writes.delete(w))
  }

  return {
    /** Whether `id` has an owner, and where it registered from when the secret was issued. */
    owner(id: string): { endpoint_url: string; confirmed: boolean } | null {
      const r = rows.get(id)
      return r ? { endpoint_url: r.endpoint_url, confirmed: r.confirmed === 1 } : null
    },
    /** 'none': the id has no secret yet; 'ok': `presented` is it; 'wrong': missing or another one. */
    check(id: string, presented: string | undefined | null): 'none' | 'ok' | 'wrong' {
      const r = rows.get(id)
      if (!r) return 'none'
      if (!presented || !timingSafeEqual(digest(presented), r.secret_sha256)) return 'wrong'
      if (r.confirmed !== 1) {
        r.confirmed = 1
        write('UPDATE host_secrets SET confirmed = 1 WHERE worker_id = ?', [id])
      }
      return 'ok'
    },
    /** A new secret for `id` (replacing any unconfirmed one); the plaintext is returned once. Await `flushed()` before handing it out. */
    issue(id: string, endpointUrl: string): string {
      const secret = randomBytes(32).toString('base64url')
      const hash = digest(secret)
      rows.set(id, { secret_sha256: hash, endpoint_url: endpointUrl, confirmed: 0 })
      write(
        'INSERT INTO host_secrets (worker_id, secret_sha256, endpoint_url, confirmed, issued_at) VALUES (?, ?, ?, 0, ?) ON CONFLICT(worker_id) DO UPDATE SET secret_sha256 = excluded.secret_sha256, endpoint_url = excluded.endpoint_url, confirmed = 0, issued_at = excluded.issued_at',
        [id, hash, endpointUrl, new Date().toISOString()],
      )
      return secret
    },
    /** The id is free again (DELETE /api/v1/workers/:id). */
    forget(id: string): boolean {
      if (!rows.delete(id)) return false
      write('DELETE FROM host_secrets WHERE worker_id = ?', [id])
      return true
    },
    /** Resolves once every change so far is committed; rejects if one failed (the answer must not claim it). */
    async flushed(): Promise<void> {
      await Promise.all(writes)
      if (failed) {
        const error = failed
        failed = null
        throw error
      }
    },
  }
}
