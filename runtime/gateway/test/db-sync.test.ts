// KTRDR_DB_SYNC: how far a commit goes before the gateway acknowledges it (SQLite here; PostgreSQL
// in db-sync.cluster.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isKtrdrError } from '../../protocol/index.ts'
import { resolveGatewayOptions } from '../index.ts'
import { createWalSync } from '../_wal-sync.ts'
import { startTestGateway } from '../../../test/kit/index.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('KTRDR_DB_SYNC', () => {
  it('resolves normal | full | unset, config over env, and names the variable when it is neither', () => {
    expect(resolveGatewayOptions({}, {}).dbSync).toBeNull()
    expect(resolveGatewayOptions({}, { KTRDR_DB_SYNC: 'full' }).dbSync).toBe('full')
    expect(resolveGatewayOptions({}, { KTRDR_DB_SYNC: ' NORMAL ' }).dbSync).toBe('normal')
    expect(resolveGatewayOptions({ dbSync: 'normal' }, { KTRDR_DB_SYNC: 'full' }).dbSync).toBe('normal')
    let error: unknown
    try {
      resolveGatewayOptions({}, { KTRDR_DB_SYNC: 'always' })
    } catch (e) {
      error = e
    }
    expect(isKtrdrError(error) && error.code).toBe('CONFIG_INVALID')
    expect((error as Error).message).toMatch(/KTRDR_DB_SYNC.*"always"/)
  })

  // PRAGMA synchronous: 1 = NORMAL, 2 = FULL (fsync of the WAL at every commit).
  it.each([
    [{}, 1],
    [{ KTRDR_DB_SYNC: 'normal' }, 1],
    [{ KTRDR_DB_SYNC: 'full' }, 2],
  ] as const)('a gateway started with %o commits with synchronous=%i', async (env, expected) => {
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-dbsync-'))
    dirs.push(dir)
    const g = await startTestGateway({ dbSync: resolveGatewayOptions({}, env).dbSync }, dir)
    try {
      const database = g.gateway.services.database
      if (database.dialect !== 'sqlite') throw new Error('expected SQLite')
      expect(database.sqlite.pragma('synchronous', { simple: true })).toBe(expected)
      // And accepting still works under it.
      expect((await g.api('/api/v1/functions/echo/invoke', { body: { input: {} } })).status).toBe(202)
    } finally {
      await g.close()
    }
  })
})

describe('KTRDR_DB_SYNC=full: group fsync of the WAL off the event loop', () => {
  it('a sync asked for while one runs waits for the next one, which covers every waiter so far', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-walsync-'))
    dirs.push(dir)
    const file = join(dir, 'x-wal')
    writeFileSync(file, 'frames')
    const wal = createWalSync(file)
    const order: number[] = []
    const first = wal.synced().then(() => order.push(1))
    // Asked while the first fsync is on the thread pool: their writes may postdate it.
    const second = wal.synced().then(() => order.push(2))
    const third = wal.synced().then(() => order.push(3))
    expect(wal.stats.syncs).toBe(1)
    await Promise.all([first, second, third])
    expect(order).toEqual([1, 2, 3])
    expect(wal.stats.syncs).toBe(2)
    wal.close()
    await expect(wal.synced()).rejects.toThrow(/closed/)
  })

  it('accepts are answered after a group fsync; the connection stays synchronous=FULL for every other write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-dbsync-'))
    dirs.push(dir)
    const g = await startTestGateway({ dbSync: 'full' }, dir)
    try {
      const database = g.gateway.services.database
      if (database.dialect !== 'sqlite' || !database.walSync) throw new Error('expected SQLite with a WAL sync')
      const before = database.walSync.stats.syncs
      const answers = await Promise.all(Array.from({ length: 16 }, () => g.api('/api/v1/functions/echo/invoke', { body: { input: {} } })))
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 16 }, () => 202))
      const syncs = database.walSync.stats.syncs - before
      // Every accept waited for one, and 16 concurrent accepts shared them.
      expect(syncs).toBeGreaterThanOrEqual(1)
      expect(syncs).toBeLessThanOrEqual(16)
      expect(database.sqlite.pragma('synchronous', { simple: true })).toBe(2)
      const ids = answers.map((a) => a.body.operation_id as string)
      const rows = database.sqlite
        .prepare(`SELECT COUNT(*) AS n FROM operations WHERE operation_id IN (${ids.map(() => '?').join(',')})`)
        .get(...ids) as { n: number }
      expect(rows.n).toBe(16)
    } finally {
      await g.close()
    }
  })
})
