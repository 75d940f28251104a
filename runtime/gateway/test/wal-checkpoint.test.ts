// SQLite checkpoints run on a worker thread, never inside a commit on the gateway's event loop
// (runtime/gateway/_wal-checkpoint.ts), and nothing committed is lost on the way.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createGatewayDatabase } from '../_db.ts'
import { startTestGateway, until } from '../../../test/kit/index.ts'

const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ktrdr-checkpoint-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('WAL checkpoints off the event loop', () => {
  it('the connection never checkpoints in a commit; the worker copies every frame back', async () => {
    const path = join(tempDir(), 'gateway.db')
    const database = await createGatewayDatabase(path)
    try {
      const { sqlite, checkpointer } = database
      expect(checkpointer).not.toBeNull()
      // SQLite checkpoints by itself until the worker is up; a first checkpoint waits for that.
      await checkpointer!.checkpoint()
      expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
      sqlite.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)')
      const insert = sqlite.prepare('INSERT INTO t (v) VALUES (?)')
      // Far past SQLite's default 1,000-page trigger: with autocheckpoint on, commits would have
      // checkpointed (and the WAL would have restarted) many times over.
      for (let i = 0; i < 3000; i++) insert.run('x'.repeat(2000))
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(3000 * 2000)
      const row = await checkpointer!.checkpoint()
      expect(row.busy).toBe(0)
      expect(row.log).toBeGreaterThan(1000)
      expect(row.checkpointed).toBe(row.log)
      // Caught up: the next commit starts the WAL over from its first frame instead of growing it.
      insert.run('after')
      expect((await checkpointer!.checkpoint()).log).toBeLessThan(10)
    } finally {
      await database.close()
    }
    // Everything committed is in the database file once closed, read by a fresh connection.
    const reader = new Database(path, { readonly: true })
    try {
      expect((reader.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n).toBe(3001)
    } finally {
      reader.close()
    }
  })

  it('checkpoints on its own timer while the gateway accepts invocations', async () => {
    const dir = tempDir()
    const g = await startTestGateway({}, dir)
    try {
      const database = g.gateway.services.database
      if (database.dialect !== 'sqlite') throw new Error('expected SQLite')
      const before = database.checkpointer!.stats.checkpoints
      for (let i = 0; i < 20; i++)
        expect((await g.api('/api/v1/functions/echo/invoke', { body: { input: {}, idempotency_key: `k${i}` } })).status).toBe(202)
      // The timer's next checkpoints (every 200 ms) pick the accepted rows up.
      const { stats } = database.checkpointer!
      await until(() => stats.checkpoints > before && stats.pages > 0, 10_000, 'a checkpoint of the accepted rows')
    } finally {
      await g.close()
    }
  })

  it('in memory there is nothing to checkpoint and no worker', async () => {
    const database = await createGatewayDatabase(':memory:')
    try {
      expect(database.checkpointer).toBeNull()
    } finally {
      await database.close()
    }
  })
})
