// KTRDR_DB_SYNC: how far a commit goes before the gateway acknowledges it (SQLite here; PostgreSQL
// in db-sync.cluster.test.ts).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isKtrdrError } from '../../protocol/index.ts'
import { resolveGatewayOptions } from '../index.ts'
import { startTestGateway } from './_setup.ts'

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
