// The operation store and the operations on top of it on either backend (SQLite via store.test.ts,
// PostgreSQL via postgres.cluster.test.ts): the same contract, the same answers, across restarts.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Operation } from '../../protocol/index.ts'
import { isOperationIdTaken } from '../_operation-shape.ts'
import type { GatewayDatabase } from '../_db.ts'
import { OPERATIONS_SCHEMA } from '../_schema.ts'
import { createOperationStore, type OperationStore, type StoredOperation } from '../_store.ts'
import { storedToParams } from '../_store-rows.ts'
import type { TestBackend } from './_backends.ts'
import { startFakeHost, startTestGateway, until, type TestGateway } from '../../../test/kit/index.ts'

export function stored(i: number, patch: Partial<Operation> = {}): StoredOperation {
  const at = new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString()
  const op = {
    operation_id: `op_test_${i}`,
    operation_type: i % 2 ? 'training' : 'backtesting',
    status: 'pending',
    function: { name: i % 2 ? 'train' : 'backtest', version: 1, sha256: 'a'.repeat(64), requested: 'x' },
    input: { i },
    progress: { percentage: 0 },
    result: null,
    error: null,
    worker_id: null,
    attempts: 0,
    max_attempts: 3,
    priority: 0,
    idempotency_key: null,
    placement: { prefer_gpu: false, require_gpu: false },
    created_at: at,
    started_at: null,
    completed_at: null,
    updated_at: at,
    timings: { queued_at: at, placed_at: null, bundle_ready_at: null, started_at: null, finished_at: null },
    metadata: {},
    ...patch,
  } as unknown as Operation
  return { op, plan: { placement: { preferGpu: false, requireGpu: false } } as never, seq: i, lastEventSeq: 0 }
}

export function describeOperationStore(backend: TestBackend) {
  describe(`operation store on ${backend.name}`, () => {
    const cleanups: Array<() => Promise<unknown> | unknown> = []
    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!()
    })
    const tempDir = async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ktrdr-store-'))
      cleanups.unshift(() => rm(dir, { recursive: true, force: true }))
      return dir
    }
    const op = (g: TestGateway, id: string) => g.api<Operation>(`/api/v1/operations/${id}`).then((r) => r.body)

    it('acknowledges inserts after commit, keeps state across a reopen, lists, filters and purges the same way', async () => {
      const { open } = await backend.fresh(await tempDir())
      let db = await open()
      let store = await createOperationStore(db)
      expect(store.nextSeq).toBe(0)
      // One turn: the three inserts share one commit.
      const keyed = stored(3, { idempotency_key: 'key-1' })
      const written = await Promise.all([store.insertBatched(stored(1)), store.insertBatched(stored(2)), store.insertBatched(keyed)])
      // Each resolves with the operation's JSON as its row holds it (the accept's answer).
      expect(written[2]).toBe(JSON.stringify(keyed.op))
      expect(written.map((json) => JSON.parse(json).operation_id)).toEqual(['op_test_1', 'op_test_2', 'op_test_3'])
      await expect(store.insertBatched(stored(4, { idempotency_key: 'key-1' }))).rejects.toThrow(/UNIQUE/)
      // A host event seq is epoch ms (> 2^31): it must come back as the same number.
      const running = (await store.get('op_test_2'))!
      running.op.status = 'completed'
      running.op.result = { ok: true }
      running.lastEventSeq = Date.now()
      store.update(running)
      await store.flushed()
      await db.close()

      db = await open()
      cleanups.push(() => db.close())
      store = await createOperationStore(db)
      expect(store.nextSeq).toBe(3)
      const back = (await store.get('op_test_2'))!
      expect(back.op.status).toBe('completed')
      expect(back.op.result).toEqual({ ok: true })
      expect(back.lastEventSeq).toBe(running.lastEventSeq)
      expect(typeof back.seq).toBe('number')
      expect((await store.getByIdempotencyKey('key-1'))!.op.operation_id).toBe('op_test_3')
      expect(await store.get('op_missing')).toBeNull()
      expect((await store.loadLive()).map((s) => s.op.operation_id)).toEqual(['op_test_1', 'op_test_3'])
      expect(await store.list({ status: ['completed'], limit: 10, offset: 0 })).toMatchObject({
        total: 1,
        items: [{ operation_id: 'op_test_2' }],
      })
      expect(await store.list({ operation_type: 'training', limit: 10, offset: 0 })).toMatchObject({
        total: 2,
        items: [{ operation_id: 'op_test_3' }, { operation_id: 'op_test_1' }],
      })
      expect((await store.list({ limit: 1, offset: 1 })).items.map((o) => o.operation_id)).toEqual(['op_test_2'])
      // A deferred update is visible to list (written first) and to get before its commit.
      const pending = (await store.get('op_test_1'))!
      pending.op.status = 'failed'
      store.update(pending)
      expect((await store.get('op_test_1'))!.op.status).toBe('failed')
      expect((await store.list({ status: ['failed'], limit: 10, offset: 0 })).total).toBe(1)
      expect(await store.purgeFinished('2100-01-01T00:00:00.000Z')).toBe(2)
      expect((await store.list({ limit: 10, offset: 0 })).items.map((o) => o.operation_id)).toEqual(['op_test_3'])
    })

    it('holds a state change nobody waits for until the next commit or the write window, and writes one awaited at once', async () => {
      const { open } = await backend.fresh(await tempDir())
      const db = await open()
      cleanups.push(() => db.close())
      // A second connection reads what is committed.
      const readerDb = await open()
      cleanups.push(() => readerDb.close())
      const reader = await createOperationStore(readerDb)
      const onDisk = async (id: string) => (await reader.get(id))?.op.status
      const turns = async (n: number) => {
        for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
      }

      // A window longer than the test: only a commit someone waits for writes.
      const store = await createOperationStore(db, undefined, { writeWindowMs: 60_000 })
      await Promise.all([store.insertBatched(stored(1)), store.insertBatched(stored(2))])
      const one = (await store.get('op_test_1'))!
      one.op.status = 'running'
      store.update(one)
      await turns(3)
      expect(await onDisk('op_test_1')).toBe('pending')
      expect((await store.get('op_test_1'))!.op.status).toBe('running')
      // PostgreSQL sends it beside the next insert (a statement of its own); SQLite's commit at the
      // end of a turn writes only what someone waits for, and it waits for its own operation's flush.
      await store.insertBatched(stored(3))
      if (backend.name === 'sqlite') expect(await onDisk('op_test_1')).toBe('pending')
      else await until(async () => (await onDisk('op_test_1')) === 'running', 10_000, 'the held change written with the insert')
      // Two changes before anyone waits: the latest is written, when flushed() is awaited (for this
      // operation alone, or for all).
      const two = (await store.get('op_test_2'))!
      two.op.status = 'running'
      store.update(two)
      two.op.status = 'completed'
      store.update(two)
      await turns(3)
      expect(await onDisk('op_test_2')).toBe('pending')
      await store.flushed(['op_test_2'])
      expect(await onDisk('op_test_2')).toBe('completed')
      await store.flushed()
      expect(await onDisk('op_test_1')).toBe('running')

      // With a short window, a change nobody waits for is written without anyone asking.
      const quick = await createOperationStore(db, undefined, { writeWindowMs: 5 })
      const three = (await quick.get('op_test_3'))!
      three.op.status = 'failed'
      quick.update(three)
      await until(async () => (await onDisk('op_test_3')) === 'failed', 10_000, 'the change written within the window')
    })

    it('refuses a taken operation id with an error the invoker recognises (and draws again on), a taken idempotency key with another', async () => {
      const { open } = await backend.fresh(await tempDir())
      const db = await open()
      cleanups.unshift(() => db.close())
      const store = await createOperationStore(db)
      await store.insertBatched(stored(1, { idempotency_key: 'key-1' }))
      const sameId = await store.insertBatched(stored(1)).then(
        () => null,
        (error: unknown) => error,
      )
      expect(sameId, 'a second row with the same id').not.toBeNull()
      expect(isOperationIdTaken(sameId)).toBe(true)
      const sameKey = await store.insertBatched(stored(2, { idempotency_key: 'key-1' })).then(
        () => null,
        (error: unknown) => error,
      )
      expect(sameKey, 'a second row with the same idempotency key').not.toBeNull()
      expect(isOperationIdTaken(sameKey)).toBe(false)
    })

    it('an operation whose row cannot be made fails alone; the others of its group commit', async () => {
      const { open } = await backend.fresh(await tempDir())
      const db = await open()
      cleanups.unshift(() => db.close())
      const store = await createOperationStore(db)
      // JSON cannot hold a BigInt: making this row throws.
      const bad = stored(2, { input: { n: 1n } })
      const outcomes = await Promise.allSettled([store.insertBatched(stored(1)), store.insertBatched(bad), store.insertBatched(stored(3))])
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
      expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/BigInt/)
      expect((await store.get('op_test_1'))?.op.operation_id).toBe('op_test_1')
      expect((await store.get('op_test_3'))?.op.operation_id).toBe('op_test_3')
      expect(await store.get('op_test_2')).toBeNull()
    })

    it('lists the children of a parent (parent_operation_id, a column of its own) through its partial index', async () => {
      const { open } = await backend.fresh(await tempDir())
      const db = await open()
      cleanups.push(() => db.close())
      const store = await createOperationStore(db)
      await Promise.all([
        store.insertBatched(stored(1, { parent_operation_id: 'op_agent_research_x' })),
        store.insertBatched(stored(2)),
        store.insertBatched(stored(3, { parent_operation_id: 'op_agent_research_x' })),
        store.insertBatched(stored(4, { parent_operation_id: 'op_test_3' })),
      ])
      expect(await store.list({ parent_operation_id: 'op_agent_research_x', limit: 10, offset: 0 })).toMatchObject({
        total: 2,
        items: [{ operation_id: 'op_test_3' }, { operation_id: 'op_test_1' }],
      })
      expect((await store.list({ parent_operation_id: 'op_test_3', status: ['pending'], limit: 10, offset: 0 })).total).toBe(1)
      expect((await store.list({ parent_operation_id: 'op_none', limit: 10, offset: 0 })).total).toBe(0)
      const index =
        db.dialect === 'postgresql'
          ? `SELECT indexname AS name FROM pg_indexes WHERE tablename = 'operations' AND indexname = 'operations_parent_id'`
          : `SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'operations_parent_id'`
      expect(await db.sql.get(index)).toEqual({ name: 'operations_parent_id' })
    })

    it('moves a database made before the parent column onto it: children still found, the expression index gone', async () => {
      const { open } = await backend.fresh(await tempDir())
      let db = await open()
      // The layout before: no parent column, the parent read from the JSON through an expression index.
      const fromJson =
        db.dialect === 'postgresql' ? `((data::jsonb)->>'parent_operation_id')` : `json_extract(data, '$.parent_operation_id')`
      await db.sql.exec(`CREATE TABLE operations (operation_id TEXT PRIMARY KEY, operation_type TEXT NOT NULL, function_name TEXT NOT NULL,
        status TEXT NOT NULL, worker_id TEXT, priority INTEGER NOT NULL, seq BIGINT NOT NULL, idempotency_key TEXT UNIQUE,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_event_seq BIGINT NOT NULL DEFAULT 0, data TEXT NOT NULL, plan TEXT NOT NULL);
        CREATE INDEX operations_parent ON operations(${fromJson});`)
      for (const s of [stored(1, { parent_operation_id: 'op_parent' }), stored(2), stored(3, { parent_operation_id: 'op_parent' })]) {
        const { parent_operation_id: _, ...p } = storedToParams(s)
        const columns = Object.keys(p)
        await db.sql.run(
          `INSERT INTO operations (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
          columns.map((c) => p[c as keyof typeof p]),
        )
      }
      await db.close()
      db = await open()
      cleanups.push(() => db.close())
      const store = await createOperationStore(db)
      const children = await store.list({ parent_operation_id: 'op_parent', limit: 10, offset: 0 })
      expect(children.items.map((o) => o.operation_id)).toEqual(['op_test_3', 'op_test_1'])
      await store.insertBatched(stored(4, { parent_operation_id: 'op_parent' }))
      expect((await store.list({ parent_operation_id: 'op_parent', limit: 10, offset: 0 })).total).toBe(3)
      const indexes =
        db.dialect === 'postgresql'
          ? `SELECT indexname AS name FROM pg_indexes WHERE tablename = 'operations'`
          : `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'operations'`
      const names = (await db.sql.all<{ name: string }>(indexes)).map((r) => r.name)
      expect(names).toContain('operations_parent_id')
      expect(names).not.toContain('operations_parent')
      // A second open finds nothing to move.
      await db.close()
      db = await open()
      expect((await (await createOperationStore(db)).list({ parent_operation_id: 'op_parent', limit: 10, offset: 0 })).total).toBe(3)
    })

    it('keeps no index that another covers: an older database loses operations_status, and status filters still answer', async () => {
      const { open } = await backend.fresh(await tempDir())
      let db = await open()
      // What a database made before looked like: the status index beside (status, updated_at).
      await createOperationStore(db)
      await db.sql.exec('CREATE INDEX IF NOT EXISTS operations_status ON operations(status)')
      await db.close()
      db = await open()
      cleanups.push(() => db.close())
      const store = await createOperationStore(db)
      const indexes =
        db.dialect === 'postgresql'
          ? `SELECT indexname AS name FROM pg_indexes WHERE tablename = 'operations' ORDER BY indexname`
          : `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'operations' AND sql IS NOT NULL ORDER BY name`
      const names = (await db.sql.all<{ name: string }>(indexes)).map((r) => r.name)
      expect(names).not.toContain('operations_status')
      expect(names).toEqual(expect.arrayContaining(['operations_status_updated', 'operations_parent_id']))
      await Promise.all([store.insertBatched(stored(1)), store.insertBatched(stored(2, { status: 'running' }))])
      expect((await store.list({ status: ['running'], limit: 10, offset: 0 })).items.map((o) => o.operation_id)).toEqual(['op_test_2'])
    })

    it('indexes only the idempotency keys that are set, unique; a database made before keeps them unique', async () => {
      const indexes = async (db: GatewayDatabase) =>
        db.dialect === 'postgresql'
          ? (
              await db.sql.all<{ name: string; partial: boolean }>(
                `SELECT indexname AS name, indexdef LIKE '%WHERE%' AS partial FROM pg_indexes WHERE tablename = 'operations' AND indexdef LIKE '%idempotency_key%' AND schemaname = current_schema()`,
              )
            ).map((r) => ({ name: r.name, partial: !!r.partial }))
          : (
              await db.sql.all<{ name: string; partial: number }>(
                `SELECT name, partial FROM pragma_index_list('operations') WHERE name IN (SELECT il.name FROM pragma_index_list('operations') il, pragma_index_info(il.name) ii WHERE ii.name = 'idempotency_key')`,
              )
            ).map((r) => ({ name: r.name, partial: !!r.partial }))
      const unique = async (store: OperationStore, i: number) => {
        await Promise.all([store.insertBatched(stored(i)), store.insertBatched(stored(i + 1))])
        await store.insertBatched(stored(i + 2, { idempotency_key: `key-${i}` }))
        await expect(store.insertBatched(stored(i + 3, { idempotency_key: `key-${i}` }))).rejects.toThrow(/UNIQUE/)
        expect((await store.getByIdempotencyKey(`key-${i}`))?.op.operation_id).toBe(`op_test_${i + 2}`)
      }
      // A new database: the one index on the key holds only the rows that have one.
      const fresh = await backend.fresh(await tempDir())
      const db = await fresh.open()
      cleanups.push(() => db.close())
      await unique(await createOperationStore(db), 1)
      expect(await indexes(db)).toEqual([{ name: 'operations_idempotency_key', partial: true }])

      // One made before, with the column's UNIQUE constraint (the table as it was created then).
      const old = await backend.fresh(await tempDir())
      let before = await old.open()
      await before.sql.exec(OPERATIONS_SCHEMA.replace('idempotency_key TEXT,', 'idempotency_key TEXT UNIQUE,'))
      await before.close()
      before = await old.open()
      cleanups.push(() => before.close())
      await unique(await createOperationStore(before), 1)
      const kept = await indexes(before)
      // One index on the key either way: PostgreSQL swaps the constraint for the partial index,
      // SQLite keeps its constraint's (it cannot drop it without copying the table).
      expect(kept).toHaveLength(1)
      expect(kept[0]!.partial).toBe(before.dialect === 'postgresql')
    })

    it('survives a gateway restart: queued stays queued, running re-attaches, finished stays finished', async () => {
      const dir = await tempDir()
      const { gateway: config } = await backend.fresh(dir)
      const first = await startTestGateway(config, dir)
      const h = await startFakeHost({ gatewayUrl: first.url, workerId: 'h', heartbeatMs: 100 })
      cleanups.push(() => h.close())
      const finished = await first.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: {}, wait_seconds: 5 } })
      const running = await first.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { delay_ms: 1500 } } })
      const queued = await first.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: {} } })
      await until(async () => (await op(first, running.body.operation_id)).status === 'running')
      const port = first.gateway.port
      await first.close(true)
      const second = await startTestGateway({ ...config, port }, dir)
      cleanups.push(() => second.close())
      expect((await op(second, finished.body.operation_id)).status).toBe('completed')
      expect(['pending', 'running']).toContain((await op(second, queued.body.operation_id)).status)
      // The host's next heartbeat gets a 404, it re-registers with what it runs, the op re-attaches.
      await until(async () => (await second.api('/api/v1/workers/h')).status === 200, 5000, 're-registration')
      const r = await until(async () => {
        const o = await op(second, running.body.operation_id)
        return o.status === 'completed' ? o : null
      }, 5000)
      expect(r.attempts).toBe(1)
      expect(
        (
          await until(async () => {
            const o = await op(second, queued.body.operation_id)
            return o.status === 'completed' ? o : null
          })
        ).worker_id,
      ).toBe('h')
    })
  })
}
