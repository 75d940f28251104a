// Operations retention on either backend: finished operations older than
// KTRDR_OPERATIONS_RETENTION_DAYS leave the database (at start and on a timer); live ones never do.
// Old rows are made by moving `updated_at` back in the database, or by handing the purge a clock
// that runs ahead.
import { createConsola } from 'consola'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Operation } from '../../protocol/index.ts'
import type { GatewayConfig } from '../_options.ts'
import { createOperationsRetention } from '../_retention.ts'
import type { TestBackend, TestDatabase } from './_backends.ts'
import { startFakeHost, startTestGateway, until, type TestGateway } from '../../../test/kit/index.ts'

const DAY = 86_400_000

export function describeRetention(backend: TestBackend) {
  const cleanups: Array<() => Promise<unknown> | unknown> = []

  async function fresh(): Promise<{ dir: string; db: TestDatabase }> {
    const dir = mkdtempSync(join(tmpdir(), 'ktrdr-ret-'))
    cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }))
    return { dir, db: await backend.fresh(dir) }
  }

  async function gw(config: Partial<GatewayConfig>, at: { dir: string; db: TestDatabase }): Promise<TestGateway> {
    const g = await startTestGateway({ ...at.db.gateway, ...config }, at.dir)
    cleanups.push(() => g.close(true))
    return g
  }

  /** A completed echo, a cancelled and a still-pending operation (no host runs bt-only). */
  async function mixOfOperations(g: TestGateway) {
    const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'ret-host' })
    cleanups.push(() => h.close())
    const completed = (await g.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { message: 'a' }, wait_seconds: 10 } }))
      .body
    expect(completed.status).toBe('completed')
    const cancelled = (await g.api<Operation>('/api/v1/functions/bt-only/invoke', { body: { input: {} } })).body
    await g.api(`/api/v1/operations/${cancelled.operation_id}`, { method: 'DELETE' })
    const pending = (await g.api<Operation>('/api/v1/functions/bt-only/invoke', { body: { input: {} } })).body
    await g.gateway.services.operations.flushed()
    return { completed: completed.operation_id, cancelled: cancelled.operation_id, pending: pending.operation_id }
  }

  const status = async (g: TestGateway, id: string) => (await g.api(`/api/v1/operations/${id}`)).status

  describe(`operations retention on ${backend.name}`, () => {
    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!()
    })

    it('purges finished operations past the retention and never live ones', async () => {
      const g = await gw({ retention: { days: 1 } }, await fresh())
      const ids = await mixOfOperations(g)
      // Within the retention nothing goes.
      expect(await g.gateway.services.retention.purge()).toBe(0)
      expect(await g.gateway.services.retention.purge(Date.now() + 2 * DAY)).toBe(2)
      expect(await status(g, ids.completed)).toBe(404)
      expect(await status(g, ids.cancelled)).toBe(404)
      expect(await status(g, ids.pending)).toBe(200)
      const list = (await g.api('/api/v1/operations')).body
      expect(list.data.map((o: Operation) => o.operation_id)).toEqual([ids.pending])
    })

    it('days = 0 keeps everything', async () => {
      const g = await gw({ retention: { days: 0 } }, await fresh())
      const ids = await mixOfOperations(g)
      expect(await g.gateway.services.retention.purge(Date.now() + 10_000 * DAY)).toBe(0)
      expect(await status(g, ids.completed)).toBe(200)
    })

    it('purges at start: rows that aged while the gateway was down are gone, live ones are back in the queue', async () => {
      const at = await fresh()
      const first = await gw({ retention: { days: 30 } }, at)
      const ids = await mixOfOperations(first)
      const recent = (await first.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { message: 'b' }, wait_seconds: 10 } }))
        .body.operation_id
      await first.close(true)
      const db = await at.db.open()
      const old = new Date(Date.now() - 40 * DAY).toISOString()
      await db.sql.run(`UPDATE operations SET updated_at = ? WHERE operation_id IN (?, ?, ?)`, [
        old,
        ids.completed,
        ids.cancelled,
        ids.pending,
      ])
      await db.close()

      const second = await gw({ retention: { days: 30 } }, at)
      // The purge at start runs beside the first requests (on PostgreSQL it is a round trip away).
      await until(async () => (await status(second, ids.completed)) === 404, 5000, 'the purge at start')
      expect(await status(second, ids.cancelled)).toBe(404)
      expect(await status(second, recent)).toBe(200)
      expect((await second.api<Operation>(`/api/v1/operations/${ids.pending}`)).body.status).toBe('pending')
      expect(second.gateway.services.operations.counts().queued).toBe(1)
    })

    it('runs on its timer with the clock it is given', async () => {
      const g = await gw({ retention: { days: 0 } }, await fresh())
      const ids = await mixOfOperations(g)
      let clock = Date.now()
      const retention = createOperationsRetention({
        options: { days: 1, intervalMs: 20 },
        operations: g.gateway.services.operations,
        logger: createConsola({ level: 0 }),
        now: () => clock,
      })
      cleanups.push(() => retention.close())
      retention.start()
      expect(await status(g, ids.completed)).toBe(200)
      clock += 3 * DAY
      await until(async () => (await status(g, ids.completed)) === 404, 5000, 'the timer to purge the completed operation')
      expect(await status(g, ids.pending)).toBe(200)
    })
  })
}
