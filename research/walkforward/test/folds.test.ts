// Fold planning and the aggregation of folds (pure): calendar arithmetic, rolling vs anchored,
// the stability figures and the stitched curve.
import { describe, expect, it } from 'vitest'
import { parseEquityCsv, stability, stitch } from '../aggregate.ts'
import { addDuration, parseDuration, planFolds } from '../folds.ts'
import { parseWalkForwardBody, walkForwardBody, WALKFORWARD_EXAMPLES } from '../request.ts'

const d = (text: string) => parseDuration(text)!

describe('fold planning', () => {
  it('adds calendar months and years, keeping a day the target month lacks inside it', () => {
    expect(addDuration('2020-01-31', d('1m'))).toBe('2020-02-29')
    expect(addDuration('2021-01-31', d('1m'))).toBe('2021-02-28')
    expect(addDuration('2020-01-31', d('1m'), 3)).toBe('2020-04-30')
    expect(addDuration('2020-02-29', d('1y'))).toBe('2021-02-28')
    expect(addDuration('2020-12-15', d('2w'))).toBe('2020-12-29')
    expect(addDuration('2020-12-31', d('1d'))).toBe('2021-01-01')
    expect(parseDuration('0d')).toBeNull()
    expect(parseDuration('3 days')).toBeNull()
  })

  it('rolling folds move by the step; each test window starts the day after its training and keeps its full length', () => {
    const folds = planFolds({ start: '2020-01-01', end: '2020-12-31', train: d('6m'), test: d('2m'), step: d('2m'), mode: 'rolling' }, 100)
    expect(folds.map((f) => [f.train.start, f.train.end, f.test.start, f.test.end])).toEqual([
      ['2020-01-01', '2020-06-30', '2020-07-01', '2020-08-31'],
      ['2020-03-01', '2020-08-31', '2020-09-01', '2020-10-31'],
      ['2020-05-01', '2020-10-31', '2020-11-01', '2020-12-31'],
    ])
    for (const f of folds) expect(f.test.start > f.train.end).toBe(true)
  })

  it('anchored folds all start at the start and grow by the step; a step longer than the test window leaves gaps', () => {
    const folds = planFolds({ start: '2020-01-01', end: '2020-06-30', train: d('2m'), test: d('1m'), step: d('6w'), mode: 'anchored' }, 100)
    expect(folds.map((f) => [f.train.start, f.train.end, f.test.start, f.test.end])).toEqual([
      ['2020-01-01', '2020-02-29', '2020-03-01', '2020-03-31'],
      ['2020-01-01', '2020-04-11', '2020-04-12', '2020-05-11'],
      ['2020-01-01', '2020-05-23', '2020-05-24', '2020-06-23'],
    ])
  })

  it('plans at most max + 1 folds, and none when a fold does not fit', () => {
    const plan = { start: '2020-01-01', end: '2020-12-31', train: d('7d'), test: d('1d'), step: d('1d'), mode: 'rolling' as const }
    expect(planFolds(plan, 10)).toHaveLength(11)
    expect(planFolds({ ...plan, train: d('2y') }, 10)).toHaveLength(0)
  })

  it('the documented examples are valid bodies', () => {
    for (const example of Object.values(WALKFORWARD_EXAMPLES)) {
      expect(walkForwardBody.safeParse(example).success).toBe(true)
      expect(() => parseWalkForwardBody(example)).not.toThrow()
    }
  })
})

describe('aggregation across folds', () => {
  it('stability: mean, sample std, min, max, share of positive folds; non-finite values left out', () => {
    expect(stability([2, -1, 4, null, Number.NaN])).toEqual({
      n: 3,
      mean: 5 / 3,
      std: Math.sqrt(((2 - 5 / 3) ** 2 + (-1 - 5 / 3) ** 2 + (4 - 5 / 3) ** 2) / 2),
      min: -1,
      max: 4,
      positive_share: 2 / 3,
    })
    expect(stability([3])).toMatchObject({ n: 1, std: null, positive_share: 1 })
    expect(stability([])).toMatchObject({ n: 0, mean: null })
  })

  it('stitches fold growth onto where the last fold ended, in fold order, with the market beside it', () => {
    const curve = (fold: number, values: number[], prices: number[]) => ({
      fold,
      initialCapital: 1000,
      points: values.map((value, i) => ({ timestamp: `t${fold}.${i}`, price: prices[i], value, position: 'FLAT' })),
    })
    const s = stitch([curve(2, [1000, 900], [10, 11]), curve(1, [1000, 1200], [5, 4])], 100)
    expect(s.points.map((p) => [p.fold, p.value])).toEqual([
      [1, 100],
      [1, 120],
      [2, 120],
      [2, 108],
    ])
    expect(s.total_return_pct).toBeCloseTo(8, 12)
    expect(s.max_drawdown_pct).toBeCloseTo(10, 12)
    // Market: 5 → 4 (−20 %), then 10 → 11 (+10 %): 0.8 × 1.1.
    expect(s.buy_and_hold_return_pct).toBeCloseTo(-12, 12)
    expect(s.points.map((p) => p.benchmark)).toEqual([100, 80, 80, expect.closeTo(88, 12)])
  })

  it('reads only the backtest’s equity.csv layout', () => {
    expect(parseEquityCsv('timestamp,price,portfolio_value,position\n2020-01-01T00:00:00Z,1.1,1000,LONG\n')).toEqual([
      { timestamp: '2020-01-01T00:00:00Z', price: 1.1, value: 1000, position: 'LONG' },
    ])
    expect(() => parseEquityCsv('time,value\n1,2\n')).toThrow(/not a backtest equity curve/)
  })
})
