import { describe, expect, it } from 'vitest'
import { createStorage } from 'unstorage'
import { loadStrategyBars, restrictToCommonCoverage, saveBars, type OhlcvSeries } from './_exports.ts'
import { randomWalk } from './_helpers.ts'

const H = 3_600_000
const D = 24 * H
const JAN1 = Date.UTC(2024, 0, 1)

function bars(timeframe: string, stepMs: number, start: number, n: number): OhlcvSeries {
  return { ...randomWalk(n, n, { timeframe, stepMs, start }), symbol: 'EURUSD' }
}

async function store(...series: OhlcvSeries[]) {
  const storage = createStorage()
  for (const s of series) await saveBars(storage, s)
  return storage
}

const strategy = (...timeframes: string[]) => ({ training_data: { timeframes } })

describe('loadStrategyBars: multi-timeframe common coverage (docs/domain.md#multi-timeframe-alignment)', () => {
  it('restricts every timeframe to the window all of them cover', async () => {
    // 1h: 40 days from Jan 1. 4h: 30 days from Dec 25, last bar opens Jan 23 20:00 and closes Jan 24.
    const storage = await store(bars('1h', H, JAN1, 40 * 24), bars('4h', 4 * H, JAN1 - 7 * D, 30 * 6))
    const out = await loadStrategyBars(storage, strategy('1h', '4h'), { symbol: 'EURUSD' })
    expect([...out.keys()]).toEqual(['1h', '4h'])
    const h1 = out.get('1h')!
    const h4 = out.get('4h')!
    expect(h1.time[0]).toBe(JAN1)
    expect(h1.time[h1.length - 1]).toBe(JAN1 + 23 * D - H)
    expect(h1.length).toBe(23 * 24)
    expect(h4.time[0]).toBe(JAN1)
    expect(h4.time[h4.length - 1]).toBe(JAN1 + 23 * D - 4 * H)
    expect(h4.length).toBe(23 * 6)
  })

  it('applies the requested range first, and leaves a single timeframe as loaded (however short)', async () => {
    const storage = await store(bars('1h', H, JAN1, 40 * 24), bars('4h', 4 * H, JAN1, 40 * 6))
    const out = await loadStrategyBars(storage, strategy('1h', '4h'), { symbol: 'EURUSD', start: '2024-01-05', end: '2024-01-20' })
    expect(out.get('1h')!.time[0]).toBe(JAN1 + 4 * D)
    expect(out.get('4h')!.time[out.get('4h')!.length - 1]).toBe(JAN1 + 20 * D - 4 * H)
    expect(out.get('1h')!.length).toBe(16 * 24)

    const single = await loadStrategyBars(storage, strategy('1h'), { symbol: 'EURUSD', start: '2024-01-05', end: '2024-01-05' })
    expect(single.get('1h')!.length).toBe(24)
  })

  it('fails with MULTI_TF_INSUFFICIENT_COVERAGE (422, not retryable) naming the timeframes and their ranges when the overlap is under 7 days', async () => {
    // 1h Jan 1 – Jan 20; 4h from Jan 15 for 30 days: 5 common days, but plenty of bars in each.
    const storage = await store(bars('1h', H, JAN1, 20 * 24), bars('4h', 4 * H, JAN1 + 14 * D, 30 * 6))
    const error = await loadStrategyBars(storage, strategy('1h', '4h'), { symbol: 'EURUSD' }).catch((e) => e)
    expect(error).toMatchObject({ statusCode: 422, code: 'MULTI_TF_INSUFFICIENT_COVERAGE', retryable: false })
    expect(error.message).toContain('EURUSD')
    expect(error.message).toContain('1h 2024-01-01T00:00:00Z → 2024-01-20T23:00:00Z (480 bars)')
    expect(error.message).toContain('4h 2024-01-15T00:00:00Z')
    expect(error.message).toMatch(/spans 6\.00 days/)
    expect(error.details).toMatchObject({
      symbol: 'EURUSD',
      timeframes: { '1h': { bars: 480 }, '4h': { bars: 180 } },
      common_coverage: { min_bars: 36 },
    })
  })

  it('fails when the overlap is long enough but leaves under 50 bars in a timeframe, and when there is no overlap at all', async () => {
    // 20 common days: 480 hourly bars but only 20 daily ones.
    const short = await store(bars('1h', H, JAN1, 20 * 24), bars('1d', D, JAN1, 200))
    await expect(loadStrategyBars(short, strategy('1h', '1d'), { symbol: 'EURUSD' })).rejects.toMatchObject({
      code: 'MULTI_TF_INSUFFICIENT_COVERAGE',
      details: { common_coverage: { min_bars: 20 } },
    })

    const apart = new Map([
      ['1h', bars('1h', H, JAN1, 200)],
      ['4h', bars('4h', 4 * H, JAN1 + 60 * D, 200)],
    ])
    expect(() => restrictToCommonCoverage(apart, 'EURUSD')).toThrow(/do not overlap at all/)
  })

  it('draws the line at exactly 7 days and exactly 50 bars', () => {
    const check = (a: OhlcvSeries, b: OhlcvSeries) => () =>
      restrictToCommonCoverage(
        new Map([
          [a.timeframe, a],
          [b.timeframe, b],
        ]),
        'EURUSD',
      )
    // 7 days of 15m and of 1h: allowed; one hourly bar less (6.96 days): refused.
    expect(check(bars('15m', H / 4, JAN1, 7 * 96), bars('1h', H, JAN1, 7 * 24))).not.toThrow()
    expect(check(bars('15m', H / 4, JAN1, 7 * 96), bars('1h', H, JAN1, 7 * 24 - 1))).toThrow(/spans 6\.96 days/)
    // 50 4h bars (8.3 days): allowed; 49: refused.
    expect(check(bars('1h', H, JAN1, 300), bars('4h', 4 * H, JAN1, 50))).not.toThrow()
    expect(check(bars('1h', H, JAN1, 300), bars('4h', 4 * H, JAN1, 49))).toThrow(/49 4h bars/)
  })
})
