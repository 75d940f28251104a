// Operation ids: `op_<type>_<second>_<8 hex>` must not repeat within a second, whatever the rate,
// and sort in the order they were made, so that a commit's rows share the primary key's pages.
import { describe, expect, it } from 'vitest'
import { createOperationId } from '../_operation-shape.ts'

describe('createOperationId', () => {
  it('draws no suffix twice within one second (32 random bits alone repeat at these rates)', () => {
    // 300,000 draws of 32 random bits hold ~10 equal pairs on average (birthday bound): a bench at
    // 7,000 accepts a second hit one, answered 500 by the primary key.
    const at = new Date(Date.UTC(2026, 11, 6, 3, 0, 0))
    const ids = new Set<string>()
    for (let i = 0; i < 300_000; i++) ids.add(createOperationId('training', at))
    expect(ids.size).toBe(300_000)
    expect([...ids][0]).toMatch(/^op_training_20261206_030000_[0-9a-f]{8}$/)
  })

  it('makes the ids of one second in ascending order (inserts append to the primary key), from a new start on a redraw', () => {
    const at = new Date(Date.UTC(2026, 11, 6, 4, 0, 0))
    const ids = Array.from({ length: 1000 }, () => createOperationId('function', at))
    // A start drawn near 2^32 wraps to 00000000 once; the ids on either side of it each ascend.
    const wrap = ids.findIndex((id, i) => i > 0 && id < ids[i - 1]!)
    const runs = wrap < 0 ? [ids] : [ids.slice(0, wrap), ids.slice(wrap)]
    for (const run of runs) expect(run).toEqual([...run].sort())
    const suffix = (id: string) => parseInt(id.slice(-8), 16)
    expect((suffix(ids[999]!) - suffix(ids[0]!)) >>> 0).toBe(999)
    // Another process drew an id taken: a redraw leaves the run (and collides again only by chance).
    const redrawn = createOperationId('function', at, { redraw: true })
    expect(redrawn).not.toBe(createOperationId('function', at))
    expect(ids).not.toContain(redrawn)
  })

  it('starts over each second and keeps the documented shape', () => {
    const a = createOperationId('back testing', new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))
    const b = createOperationId('back testing', new Date(Date.UTC(2026, 0, 2, 3, 4, 6)))
    expect(a).toMatch(/^op_back_testing_20260102_030405_[0-9a-f]{8}$/)
    expect(b).toMatch(/^op_back_testing_20260102_030406_[0-9a-f]{8}$/)
  })
})
