// What a walk-forward writes of its parent row, and what a restart needs of it: one write per step
// (a step reads what finished and starts what may start), and a row that does not yet name the
// children its last step started loses none of them (their idempotency keys find them again).
import { afterEach, describe, expect, it } from 'vitest'
import type { Operation } from '../../../runtime/protocol/index.ts'
import { until } from '../../../test/kit/index.ts'
import { startFakeTrainingHost, startWalkForwardGateway } from '../../parents/test/_fake-cluster.ts'
import { FOUR_FOLDS } from './_walkforward-cases.ts'

const BODY = FOUR_FOLDS

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

type G = Awaited<ReturnType<typeof startWalkForwardGateway>>
async function gateway(...args: Parameters<typeof startWalkForwardGateway>) {
  const g = await startWalkForwardGateway(...args)
  cleanups.push(() => g.close())
  return g
}
async function host(g: G, id: string) {
  const h = await startFakeTrainingHost(g, id)
  cleanups.push(() => h.close())
  return h
}
const wfOf = (g: G, id: string) => g.api<{ data: any }>(`/api/v1/walkforward/${id}`).then((r) => r.body.data)
const childrenOf = async (g: G, id: string) =>
  (await g.api<{ data: Operation[] }>(`/api/v1/operations/${id}/children?limit=1000`)).body.data

/** Counts the writes of research_parents rows through the gateway's own database client. */
function countRowWrites(g: G): { readonly n: number } {
  const sql = g.gateway.services.database.sql
  const run = sql.run.bind(sql)
  const counter = { n: 0 }
  sql.run = (statement, params) => {
    if (/^\s*INSERT INTO research_parents\b/.test(statement)) counter.n++
    return run(statement, params)
  }
  return counter
}

describe('walk-forward parent row', () => {
  it('is written once per step: at most two writes per fold, one child at a time against instant children', async () => {
    const g = await gateway()
    await host(g, 'host-1')
    const writes = countRowWrites(g)
    const res = await g.api('/api/v1/walkforward', { body: { ...BODY, max_parallel: 1 } })
    expect(res.status, JSON.stringify(res.body)).toBe(202)
    const id = res.body.operation_id as string
    // The event stream closes after the final state.
    await (await fetch(`${g.url}/api/v1/walkforward/${id}/events`)).text()
    const wf = await wfOf(g, id)
    expect(wf.status, JSON.stringify(wf.error)).toBe('completed')
    const folds = wf.folds.length
    expect(folds).toBe(4)
    expect(await childrenOf(g, id)).toHaveLength(2 * folds)
    // Accepted, then a step per child that finished (the last one completes the parent): 2 × folds + 2.
    // Writing after each child started as well, as before, made it 4 × folds + 2.
    expect(writes.n).toBeGreaterThanOrEqual(folds)
    expect(writes.n).toBeLessThanOrEqual(2 * folds + 2)
  })

  it('a gateway stopped after starting children but before writing the row: the next one finds them by their keys, starts none twice', async () => {
    // No host: the first two trainings wait in the queue.
    const g = await gateway()
    const id = (await g.api('/api/v1/walkforward', { body: { ...BODY, max_parallel: 2 } })).body.operation_id as string
    const started = await until(async () => {
      const rows = (await g.api('/api/v1/walkforward')).body.data as Array<{ operation_id: string; children: Record<string, string> }>
      const row = rows.find((r) => r.operation_id === id)
      return row && Object.keys(row.children).length === 2 ? row.children : null
    })
    expect(Object.keys(started).sort()).toEqual(['fold_1:train', 'fold_2:train'])
    // The row as a gateway stopped between those invokes and its step's write leaves it: naming neither.
    const sql = g.gateway.services.database.sql
    const row = await sql.get<{ data: string }>(`SELECT data FROM research_parents WHERE id = ?`, [id])
    await sql.run(`UPDATE research_parents SET data = ? WHERE id = ?`, [JSON.stringify({ ...JSON.parse(row!.data), children: {} }), id])
    await g.close(true)

    const again = await gateway(g.dir, g.config)
    // Its first step starts both trainings again: their keys return the children already queued.
    const found = await until(async () => {
      const children = (await wfOf(again, id)).children as Record<string, string>
      return Object.keys(children).length === 2 ? children : null
    })
    expect(found).toEqual(started)
    expect((await childrenOf(again, id)).map((c) => c.operation_id).sort()).toEqual(Object.values(started).sort())
    await host(again, 'host-2')
    const wf = await until(async () => {
      const w = await wfOf(again, id)
      return ['completed', 'failed', 'cancelled'].includes(w.status) ? w : null
    }, 30_000)
    expect(wf.status, JSON.stringify(wf.error)).toBe('completed')
    for (const key of ['fold_1:train', 'fold_2:train']) expect(wf.children[key]).toBe(started[key])
    const children = await childrenOf(again, id)
    expect(children).toHaveLength(8)
    expect(new Set(children.map((c) => (c.metadata as { task: string }).task)).size).toBe(8)
  })
})
