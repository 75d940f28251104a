// The operation store on SQLite (the cases run on PostgreSQL too: postgres.cluster.test.ts), and
// what only the SQLite store does: inserts left for later (insertLater).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createGatewayDatabase } from '../_db.ts'
import { createOperationStore } from '../_store.ts'
import { until } from '../../../test/kit/index.ts'
import { sqliteBackend } from './_backends.ts'
import { describeOperationStore, stored } from './_store-cases.ts'

describeOperationStore(sqliteBackend)

describe('inserts left for later (SQLite)', () => {
  const cleanups: Array<() => unknown> = []
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!()
  })
  async function open(writeWindowMs: number) {
    const dir = await mkdtemp(join(tmpdir(), 'ktrdr-store-later-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const db = await createGatewayDatabase(join(dir, 'gateway.db'))
    cleanups.push(() => db.close())
    // A second connection sees only what is committed.
    const reader = await createGatewayDatabase(join(dir, 'gateway.db'))
    cleanups.push(() => reader.close())
    const readerStore = await createOperationStore(reader)
    return {
      store: await createOperationStore(db, undefined, { writeWindowMs }),
      onDisk: async (id: string) => (await readerStore.get(id))?.op.status ?? null,
    }
  }
  const now = (i: number) => {
    const s = stored(i)
    s.op.created_at = s.op.updated_at = new Date().toISOString()
    return s
  }

  it('writes the row with its state at its operation’s flush, not with other commits', async () => {
    const { store, onDisk } = await open(60_000)
    const later = now(1)
    const written = store.insertLater!(later)!
    await store.insertBatched(stored(2))
    expect(await onDisk('op_test_1')).toBeNull()
    // Still readable from the store, as a live operation is from memory.
    later.op.status = 'completed'
    store.update(later)
    expect((await store.get('op_test_1'))!.op.status).toBe('completed')
    await store.flushed(['op_test_2'])
    expect(await onDisk('op_test_1')).toBeNull()
    await store.flushed(['op_test_1'])
    expect(await onDisk('op_test_1')).toBe('completed')
    expect(JSON.parse(await written)).toMatchObject({ operation_id: 'op_test_1', status: 'completed' })
  })

  it('writes it when the window ends, with nobody asking', async () => {
    const { store, onDisk } = await open(5)
    void store.insertLater!(now(1))
    await until(async () => (await onDisk('op_test_1')) === 'pending', 10_000, 'the row written within the window')
  })

  it('returns null for an id an earlier gateway took (draw another); ids of seconds after it opened are not looked up', async () => {
    const { store } = await open(60_000)
    await store.insertBatched(stored(1))
    // The same id, drawn in a second up to the store's opening.
    expect(store.insertLater!(stored(1))).toBeNull()
    // In a later second only this process draws ids, counting up: no lookup, so a row that breaks
    // that rule is refused at its commit, and says so.
    const future = stored(1)
    future.op.created_at = new Date(Date.now() + 60_000).toISOString()
    const refused = store.insertLater!(future)!
    await store.flushed(['op_test_1'])
    await expect(refused).rejects.toThrow(/UNIQUE/)
  })
})
