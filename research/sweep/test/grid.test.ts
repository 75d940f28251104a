// Sweep combinations and the best-run mark (pure).
import { describe, expect, it } from 'vitest'
import { combinationName, gridCombinations, gridSize, randomCombinations } from '../grid.ts'
import { aliasOf } from '../params.ts'
import { parseSweepBody, SWEEP_EXAMPLES } from '../request.ts'
import { markBest } from '../sweep.ts'
import type { SweepRow } from '../_types.ts'

const nameOf = (c: Record<string, unknown>) => combinationName(c, aliasOf)

describe('sweep combinations', () => {
  it('a grid varies the first parameter slowest; runs are named by their parameters, short names where there are some', () => {
    const space: Array<[string, unknown[]]> = [
      ['learning_rate', [0.001, 0.01]],
      ['hidden_layers', [[64, 32], [16]]],
      ['confidence_threshold', [0.6]],
    ]
    expect(gridSize(space)).toBe(4)
    expect(gridCombinations(space).map(nameOf)).toEqual([
      'lr=0.001,hidden=64-32,conf=0.6',
      'lr=0.001,hidden=16,conf=0.6',
      'lr=0.01,hidden=64-32,conf=0.6',
      'lr=0.01,hidden=16,conf=0.6',
    ])
    expect(gridCombinations([])).toEqual([{}])
  })

  it('random draws are seeded, inside their ranges, distinct, and no more than the space holds', () => {
    const space = [
      ['learning_rate', { min: 1e-4, max: 1e-2, log: true }],
      ['batch_size', { min: 16, max: 256, integer: true }],
    ] as const
    const a = randomCombinations(space as never, 20, 5, nameOf)
    expect(a).toHaveLength(20)
    expect(randomCombinations(space as never, 20, 5, nameOf)).toEqual(a)
    expect(new Set(a.map(nameOf)).size).toBe(20)
    for (const c of a) {
      expect(c.learning_rate).toBeGreaterThanOrEqual(1e-4)
      expect(c.learning_rate).toBeLessThanOrEqual(1e-2)
      expect(Number.isInteger(c.batch_size)).toBe(true)
    }
    // Log-uniform: about as many draws below 1e-3 as above.
    const many = randomCombinations([space[0]] as never, 400, 9, nameOf)
    const low = many.filter((c) => (c.learning_rate as number) < 1e-3).length
    expect(low).toBeGreaterThan(150)
    expect(low).toBeLessThan(250)
    expect(randomCombinations([['zigzag_threshold', [0.01, 0.02]]], 10, 1, nameOf)).toHaveLength(2)
  })

  it('the best run is the one strictly best; ties break on total return, and a tie that remains marks none', () => {
    const row = (name: string, sharpe: number, ret: number): SweepRow => ({
      name,
      training_params: {},
      backtest_params: {},
      status: 'completed',
      error: null,
      operations: { train: null, backtest: null },
      metrics: { sharpe_ratio: sharpe, total_return_pct: ret, max_drawdown_pct: ret },
      excess_return_pct: null,
      baselines: null,
      training_metrics: null,
      verdict: null,
      overlap_bars: 0,
      best: false,
    })
    const rows = [row('a', 1, 2), row('b', 1, 3), row('c', 0.5, 9)]
    expect(markBest(rows, 'sharpe_ratio')).toEqual({ name: 'b', value: 1 })
    expect(rows.map((r) => r.best)).toEqual([false, true, false])
    expect(markBest([row('a', 1, 2), row('b', 1, 2)], 'sharpe_ratio')).toBeNull()
    expect(markBest([row('a', 1, 2), row('b', 1, 3)], 'max_drawdown_pct')).toEqual({ name: 'a', value: 2 })
  })

  it('the documented examples are valid bodies', () => {
    for (const example of Object.values(SWEEP_EXAMPLES)) expect(() => parseSweepBody(example)).not.toThrow()
  })
})
