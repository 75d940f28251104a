import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { GatewayDatabase } from './_db.ts'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS host_secrets (
  worker_id TEXT PRIMARY KEY,
  secret_sha256 BLOB NOT NULL,
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

/**
 * One secret per worker id, issued by the gateway at the id's first registration. Only its sha256
 * is stored (a fast hash suffices: the secret is 32 random bytes, not a password), in the gateway
 * database so a gateway restart still knows who owns which id. A secret is `confirmed` once the
 * host has presented it (see the reconciler's claim for what that changes).
 */
export function createHostSecrets(database: GatewayDatabase) {
  const { sqlite } = database
  sqlite.exec(SCHEMA)
  const select = sqlite.prepare<[string], Row>('SELECT secret_sha256, endpoint_url, confirmed FROM host_secrets WHERE worker_id = ?')
  const upsert = sqlite.prepare(
    'INSERT INTO host_secrets (worker_id, secret_sha256, endpoint_url, confirmed, issued_at) VALUES (?, ?, ?, 0, ?) ON CONFLICT(worker_id) DO UPDATE SET secret_sha256 = excluded.secret_sha256, endpoint_url = excluded.endpoint_url, confirmed = 0, issued_at = excluded.issued_at',
  )
  const confirm = sqlite.prepare('UPDATE host_secrets SET confirmed = 1 WHERE worker_id = ?')
  const remove = sqlite.prepare('DELETE FROM host_secrets WHERE worker_id = ?')
  // Heartbeats and events check the secret on every call: keep the rows in memory.
  const cache = new Map<string, Row | null>()
  const row = (id: string): Row | null => {
    if (!cache.has(id)) cache.set(id, select.get(id) ?? null)
    return cache.get(id)!
  }

  return {
    /** Whether `id` has an owner, and where it registered from when the secret was issued. */
    owner(id: string): { endpoint_url: string; confirmed: boolean } | null {
      const r = row(id)
      return r ? { endpoint_url: r.endpoint_url, confirmed: r.confirmed === 1 } : null
    },
    /** 'none': the id has no secret yet; 'ok': `presented` is it; 'wrong': missing or another one. */
    check(id: string, presented: string | undefined | null): 'none' | 'ok' | 'wrong' {
      const r = row(id)
      if (!r) return 'none'
      if (!presented || !timingSafeEqual(digest(presented), r.secret_sha256)) return 'wrong'
      if (r.confirmed !== 1) {
        confirm.run(id)
        r.confirmed = 1
      }
      return 'ok'
    },
    /** A new secret for `id` (replacing any unconfirmed one); the plaintext is returned once. */
    issue(id: string, endpointUrl: string): string {
      const secret = randomBytes(32).toString('base64url')
      const hash = digest(secret)
      upsert.run(id, hash, endpointUrl, new Date().toISOString())
      cache.set(id, { secret_sha256: hash, endpoint_url: endpointUrl, confirmed: 0 })
      return secret
    },
    /** The id is free again (DELETE /api/v1/workers/:id). */
    forget(id: string): boolean {
      cache.delete(id)
      return remove.run(id).changes > 0
    },
  }
}

export type HostSecrets = ReturnType<typeof createHostSecrets>
