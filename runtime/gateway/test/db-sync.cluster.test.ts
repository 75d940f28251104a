// KTRDR_DB_SYNC on PostgreSQL: normal → synchronous_commit=off, full → on, unset → the server's
// setting. A real server on a loopback port (test/_pg.ts); skipped with the reason where it cannot start.
import { afterAll, describe, expect, it } from 'vitest'
import { postgresSkipReason, startTestPostgres } from '../../../test/kit/index.ts'
import { openGatewayDatabase } from '../_db.ts'

const server = await startTestPostgres()
afterAll(async () => {
  await server?.stop()
})

describe.skipIf(!server)(`KTRDR_DB_SYNC on PostgreSQL${server ? '' : `: ${postgresSkipReason()}`}`, () => {
  it.each([
    [null, 'on'],
    ['normal', 'off'],
    ['full', 'on'],
  ] as const)('dbSync %s → synchronous_commit %s for the gateway session', async (dbSync, expected) => {
    const url = await server!.createDatabase()
    const db = await openGatewayDatabase({ databaseUrl: url, dbPath: '', dbSync })
    try {
      if (db.dialect !== 'postgresql') throw new Error('expected PostgreSQL')
      const [row] = await db.query<{ synchronous_commit: string }>('SHOW synchronous_commit')
      expect(row!.synchronous_commit).toBe(expected)
    } finally {
      await db.close()
    }
  })
})
