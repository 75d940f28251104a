import type { ConsolaInstance } from 'consola'
import pg from 'pg'
import { PG_KEEPALIVE_OPTIONS, PG_TYPES } from './_db-postgres.ts'
import { redactUrl } from './_db-url.ts'
import type { LeaderOptions } from './_options.ts'
import { LEADER_SCHEMA } from './_schema.ts'

/** The advisory lock key of "the active gateway" (advisory locks are per database). */
export const LEADER_LOCK_KEY = 0x6b_74_72_64_72 // "ktrdr"

export interface ActiveGateway {
  epoch: number
  url: string | null
  pid: number | null
  since: string | null
}

export interface LeaderElection {
  /** One try: true once this process holds the lock (and has bumped the epoch). */
  tryAcquire(): Promise<boolean>
  /** The epoch this process took over at (after a successful tryAcquire). */
  readonly epoch: number | null
  /** The active gateway as last recorded in the database (refreshed by every try). */
  readonly active: ActiveGateway | null
  /** Records this gateway's URL as the active one's (when it was not known at takeover: port 0). */
  announce(url: string): Promise<void>
  /** Called once when the lock connection fails while holding the lock: the lock is gone with it. */
  onLost(listener: (reason: string) => void): void
  /** Closes the lock connection (releasing the lock if held). */
  close(): Promise<void>
}

/**
 * Active/standby gateways on one PostgreSQL database: whoever holds a session-level advisory lock
 * on a dedicated connection is active. The lock lives exactly as long as that connection: a
 * SIGKILLed process's socket is closed by its kernel and the server ends the session at once; a
 * machine that vanishes is noticed by server-side TCP keepalives (≈5 s, PG_KEEPALIVE_OPTIONS).
 * The holder checks its connection every `checkMs` so that it steps down on its own when the
 * lock is gone; the write fence (ktrdr_leader.epoch) covers the time before it notices.
 */
export function createLeaderElection(deps: {
  url: string
  publicUrl: () => string | null
  options: LeaderOptions
  logger: ConsolaInstance
}): LeaderElection {
  const { url, options, logger } = deps
  let client: pg.Client | null = null
  let connecting: Promise<pg.Client> | null = null
  let epoch: number | null = null
  let active: ActiveGateway | null = null
  let checkTimer: NodeJS.Timeout | null = null
  let closed = false
  let unreachable = false
  const listeners: Array<(reason: string) => void> = []

  const lost = (reason: string) => {
    if (epoch === null || closed) return
    epoch = null
    if (checkTimer) clearInterval(checkTimer)
    checkTimer = null
    const c = client
    client = null
    void c?.end().catch(() => {})
    for (const l of listeners.splice(0)) l(reason)
  }

  const connect = () =>
    (connecting ??= (async () => {
      const c = new pg.Client({
        connectionString: url,
        keepAlive: true,
        keepAliveInitialDelayMillis: 1000,
        types: PG_TYPES,
        application_name: 'ktrdr-gateway-leader',
        options: PG_KEEPALIVE_OPTIONS,
        query_timeout: Math.max(3000, options.checkMs * 3),
        connectionTimeoutMillis: 5000,
      })
      c.on('error', (error) => {
        if (client === c) {
          client = null
          lost(`lock connection failed: ${error.message}`)
        }
      })
      c.on('end', () => {
        if (client === c) {
          client = null
          lost('lock connection closed')
        }
      })
      try {
        await c.connect()
        // Concurrent first starts may race on CREATE TABLE IF NOT EXISTS: the loser retries next round.
        await c.query(LEADER_SCHEMA)
      } catch (error) {
        await c.end().catch(() => {})
        throw error
      }
      client = c
      return c
    })().finally(() => {
      connecting = null
    }))

  const readActive = async (c: pg.Client) => {
    const { rows } = await c.query<ActiveGateway>('SELECT epoch, url, pid, since FROM ktrdr_leader WHERE id = 1')
    active = rows[0] ?? null
  }

  return {
    get epoch() {
      return epoch
    },
    get active() {
      return active
    },

    async tryAcquire() {
      if (closed) return false
      if (epoch !== null) return true
      let c: pg.Client
      try {
        c = client ?? (await connect())
      } catch (error) {
        // Once per outage, not once a second.
        if (!unreachable)
          logger.warn(
            `Cannot reach PostgreSQL at ${redactUrl(url)} for the leader lock (retrying every ${options.retryMs} ms): ${(error as Error).message}`,
          )
        unreachable = true
        return false
      }
      unreachable = false
      try {
        const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LEADER_LOCK_KEY])
        if (!rows[0]?.ok) {
          await readActive(c)
          return false
        }
        // The bump waits for writes of a previous active that are still under way (they hold the
        // row FOR SHARE), and makes any later write of that gateway find the wrong epoch.
        const bumped = await c.query<{ epoch: number }>(
          'UPDATE ktrdr_leader SET epoch = epoch + 1, url = $1, pid = $2, since = $3 WHERE id = 1 RETURNING epoch',
          [deps.publicUrl(), process.pid, new Date().toISOString()],
        )
        epoch = bumped.rows[0]!.epoch
        await readActive(c)
        checkTimer = setInterval(() => {
          const held = client
          if (!held) return
          held.query('SELECT 1').catch((error: Error) => {
            if (client === held) lost(`lock connection check failed: ${error.message}`)
          })
        }, options.checkMs)
        checkTimer.unref()
        return true
      } catch (error) {
        logger.warn(`Leader lock attempt failed: ${(error as Error).message}`)
        if (client === c) {
          client = null
          await c.end().catch(() => {})
        }
        return false
      }
    },

    async announce(publicUrl) {
      const c = client
      if (epoch === null || !c) return
      await c.query('UPDATE ktrdr_leader SET url = $1 WHERE id = 1 AND epoch = $2', [publicUrl, epoch])
      await readActive(c)
    },

    onLost(listener) {
      listeners.push(listener)
    },

    async close() {
      closed = true
      if (checkTimer) clearInterval(checkTimer)
      const c = client ?? (connecting ? await connecting.catch(() => null) : null)
      client = null
      epoch = null
      await c?.end().catch(() => {})
    },
  }
}
