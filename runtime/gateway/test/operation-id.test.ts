// Operation ids: `op_<type>_<second>_<8 hex>` must not repeat within a second, whatever the rate.
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

  it('starts over each second and keeps the documented shape', () => {
    const a = createOperationId('back testing', new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))
    const b = createOperationId('back testing', new Date(Date.UTC(2026, 0, 2, 3, 4, 6)))
    expect(a).toMatch(/^op_back_testing_20260102_030405_[0-9a-f]{8}$/)
    expect(b).toMatch(/^op_back_testing_20260102_030406_[0-9a-f]{8}$/)
  })
})
