// SQLite checkpoints run on a worker thread, never inside a commit on the gateway's event loop
// (runtime/gateway/_wal-checkpoint.ts), and nothing committed is lost on the way.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createGatewayDatabase } from '../_db.ts'
import { startWalCheckpointer } from '../_wal-checkpoint.ts'
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

  it('starts the WAL over although commits never stop: a RESTART checkpoint follows a PASSIVE one that left too much', async () => {
    const path = join(tempDir(), 'gateway.db')
    const sqlite = new Database(path)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = NORMAL')
    sqlite.pragma('busy_timeout = 5000')
    sqlite.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)')
    // Checkpoints only when asked (no timer), RESTART past 100 frames.
    const checkpointer = startWalCheckpointer(sqlite, path, { intervalMs: 3_600_000, restartFrames: 100 })!
    let rows = 0
    try {
      await checkpointer.checkpoint()
      const insert = sqlite.prepare('INSERT INTO t (v) VALUES (?)')
      const commit = sqlite.transaction(() => {
        for (let i = 0; i < 4; i++, rows++) insert.run('x'.repeat(3000))
      })
      // ~2,000 frames (a 3,000-byte row fills a page), then a checkpoint while a commit lands in
      // every turn of the event loop, as under a steady load: a PASSIVE pass then never leaves the
      // WAL caught up when the next transaction begins, and without the RESTART the WAL only grows.
      for (let i = 0; i < 400; i++) commit()
      const pass = checkpointer.checkpoint()
      let done = false
      void pass.then(() => (done = true))
      let during = 0
      while (!done) {
        commit()
        during++
        await new Promise((resolve) => setImmediate(resolve))
      }
      const row = await pass
      expect(during).toBeGreaterThan(0)
      expect(row.log).toBeGreaterThan(1600)
      expect(checkpointer.stats.restarts).toBe(1)
      // The commits after the RESTART started the WAL over: what is left is theirs alone.
      commit()
      const after = await checkpointer.checkpoint()
      expect(after.log).toBeLessThan(row.log / 2)
      expect(after.checkpointed).toBe(after.log)
    } finally {
      await checkpointer.close()
      sqlite.close()
    }
    const reader = new Database(path, { readonly: true })
    try {
      expect((reader.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n).toBe(rows)
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
