// How often an operation's row is written, and when a waiting caller is answered: a call that ends
// before its row's first commit writes it once, finished, and its answer follows that commit.
import { describe, expect, it } from 'vitest'
import type { HostEvent } from '../../protocol/index.ts'
import type { SqliteGatewayDatabase } from '../_db.ts'
import { useTestCores } from './_core.ts'

const { core: newCore, host: newHost } = useTestCores()
// A write window longer than any test: only commits someone asks for write.
const LONG_WINDOW = { writeWindowMs: 60_000 }

/** Every row write of the operations table from now on, in order, as (kind, status). */
function recordWrites(database: SqliteGatewayDatabase) {
  database.sqlite.exec(`
    CREATE TABLE row_writes (n INTEGER PRIMARY KEY, operation_id TEXT, kind TEXT, status TEXT);
    CREATE TRIGGER row_inserted AFTER INSERT ON operations BEGIN
      INSERT INTO row_writes (operation_id, kind, status) VALUES (NEW.operation_id, 'insert', NEW.status);
    END;
    CREATE TRIGGER row_updated AFTER UPDATE ON operations BEGIN
      INSERT INTO row_writes (operation_id, kind, status) VALUES (NEW.operation_id, 'update', NEW.status);
    END;`)
  const read = database.sqlite.prepare(`SELECT kind, status FROM row_writes WHERE operation_id = ? ORDER BY n`)
  return (id: string) => read.all(id) as Array<{ kind: string; status: string }>
}

describe('row writes of a waiting call', () => {
  it('a call that ends before its row is written writes it once, finished, and is answered after that commit with the JSON written', async () => {
    const core = await newCore({}, LONG_WINDOW)
    const writes = recordWrites(core.database as SqliteGatewayDatabase)
    const host = await newHost('h1')
    core.register(host)

    const answer = core.invoker('echo', { input: { message: 'm' }, wait_seconds: 10 })
    let answered = false
    void answer.then(() => (answered = true))
    await host.dispatches(1)
    const id = host.received[0]!.operation_id
    await core.settle(() => core.operations.getLive(id)?.op.status === 'running', 'the host took it')
    // Queued, dispatched and running, and nothing written yet: the caller has not been told of it.
    expect(writes(id)).toEqual([])

    // Started and completed in one batch, as a host sends a short call's events.
    const at = new Date().toISOString()
    const events: HostEvent[] = [
      { seq: 1, type: 'started', operation_id: id, attempt: 1, at },
      { seq: 2, type: 'completed', operation_id: id, attempt: 1, at, result: { ok: true } },
    ]
    core.reconciler.applyEvents('h1', core.workers.get('h1'), events)
    await Promise.resolve()
    // Finished in memory, not yet committed: the answer waits for the commit.
    expect(answered).toBe(false)
    const result = await answer
    expect(result.statusCode).toBe(200)
    expect(writes(id)).toEqual([{ kind: 'insert', status: 'completed' }])
    // The answer is the text the commit wrote, which is the operation as answered.
    expect(result.committed).toBe(JSON.stringify(result.operation))
    expect(JSON.parse(result.committed!)).toMatchObject({ operation_id: id, status: 'completed', result: { ok: true } })
  })

  it('a call with an idempotency key is committed before it runs (a retry must find it)', async () => {
    const core = await newCore({}, LONG_WINDOW)
    const writes = recordWrites(core.database as SqliteGatewayDatabase)
    const host = await newHost('h1')
    core.register(host)
    const answer = core.invoker('echo', { input: {}, wait_seconds: 10, idempotency_key: 'k-1' })
    await host.dispatches(1)
    const id = host.received[0]!.operation_id
    expect(writes(id)).toEqual([{ kind: 'insert', status: 'pending' }])
    core.push(host, { type: 'completed', operation_id: id, attempt: 1, result: null })
    expect((await answer).operation.status).toBe('completed')
    expect(writes(id).at(-1)).toEqual({ kind: 'update', status: 'completed' })
  })
})
