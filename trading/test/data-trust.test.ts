// Data a researcher can trust: bars imported under the timeframe they really have, vendor CSV read
// by a real CSV parser, coarser timeframes derived from finer bars with correct OHLCV aggregation.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkBarSpacing, createSeries, importVendorCsv, resampleSeries, sessionFor, type OhlcvSeries } from '../index.ts'

const H = 3_600_000
const D = 24 * H
const MONDAY = Date.UTC(2024, 0, 1) // a Monday

function series(timeframe: string, rows: Array<[t: number, o: number, h: number, l: number, c: number, v: number]>): OhlcvSeries {
  const s = createSeries('TEST', timeframe, rows.length)
  rows.forEach(([t, o, h, l, c, v], i) => {
    s.time[i] = t
    s.open[i] = o
    s.high[i] = h
    s.low[i] = l
    s.close[i] = c
    s.volume[i] = v
  })
  return s
}
const rows = (s: OhlcvSeries) =>
  Array.from({ length: s.length }, (_, i) => [new Date(s.time[i]).toISOString(), s.open[i], s.high[i], s.low[i], s.close[i], s.volume[i]])

describe('data import', () => {
  const daily = ['Date,Open,High,Low,Close,Volume', ...[2, 3, 4, 5, 8, 9].map((d) => `2024-01-0${d},1,2,0.5,1.5,100`)].join('\n')

  it('refuses daily bars imported as 1h, and hourly bars imported as 1d, naming the timeframe they have', () => {
    expect(() => importVendorCsv(daily, { symbol: 'AAPL', timeframe: '1h' })).toThrow(
      /1 day\(s\) apart \(the most common gap, 4 of 5\), not 1h .*--timeframe 1d/,
    )
    const hourly = ['timestamp,open,high,low,close,volume', ...[0, 1, 2, 3].map((h) => `2024-01-02T0${h}:00:00Z,1,2,0.5,1.5,100`)].join(
      '\n',
    )
    expect(() => importVendorCsv(hourly, { symbol: 'AAPL', timeframe: '1d' })).toThrow(/1 hour\(s\) apart.*--timeframe 1h/)
    // Weekends and holidays only lengthen some gaps: these are daily bars.
    expect(importVendorCsv(daily, { symbol: 'AAPL', timeframe: '1d' }).series.length).toBe(6)
  })

  it('reads quoted vendor fields with delimiters and thousands separators inside them', () => {
    const text = [
      '"Date","Open","High","Low","Close","Adj Close","Volume"',
      '"2024-01-02","1,200.5","1,250.00","1,190.25","1,240.00","1,240.00","12,300"',
      '"2024-01-03","1,240.00","1,260.00","1,230.00","1,255.50","1,255.50","9,800"',
      '"2024-01-04","1,255.50","1,270.00","1,250.00","1,262.00","1,262.00","10,000"',
    ].join('\r\n')
    const r = importVendorCsv(text, { symbol: 'SPX', timeframe: '1d' })
    expect(r.layout).toBe('yahoo')
    expect(r.issues).toEqual([])
    expect([...r.series.open]).toEqual([1200.5, 1240, 1255.5])
    expect([...r.series.volume]).toEqual([12_300, 9800, 10_000])
    // A decimal comma is not guessed at: that row is reported, not misread.
    const euro = 'Date;Open;High;Low;Close;Volume\n2024-01-02;1,5;2;1;1,5;10\n'
    expect(importVendorCsv(euro, { symbol: 'X', timeframe: '1d' }).issues).toEqual([
      { line: 2, message: 'open/high/low/close/volume must be numbers' },
    ])
  })

  it('names the line of a broken quote instead of splitting it wrongly', () => {
    const text = 'Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,100\n2024-01-03,"1,2,0.5,1.5,100\n'
    expect(() => importVendorCsv(text, { symbol: 'X', timeframe: '1d' })).toThrow(/Cannot read the CSV/)
  })

  it('checkBarSpacing accepts bars on their timeframe with market closures', () => {
    const t = [0, 1, 2, 3, 4, 52, 53, 54].map((h) => MONDAY + h * H)
    expect(() =>
      checkBarSpacing(
        series(
          '1h',
          t.map((x) => [x, 1, 1, 1, 1, 1]),
        ),
        '1h',
      ),
    ).not.toThrow()
  })
})

describe('resampleSeries', () => {
  it('1h → 4h: first open, highest high, lowest low, last close, summed volume, stamped with the bucket start', () => {
    const s = series(
      '1h',
      [
        [0, 10, 12, 9, 11, 5],
        [1, 11, 15, 10, 14, 6],
        [2, 14, 14, 7, 8, 7],
        [3, 8, 9, 8, 9, 8],
        [4, 9, 10, 9, 10, 1],
      ].map(([h, ...r]) => [MONDAY + h * H, ...r] as [number, number, number, number, number, number]),
    )
    const r = resampleSeries(s, '4h')
    expect(r.timeframe).toBe('4h')
    expect(rows(r)).toEqual([
      ['2024-01-01T00:00:00.000Z', 10, 15, 7, 9, 26],
      ['2024-01-01T04:00:00.000Z', 9, 10, 9, 10, 1],
    ])
  })

  it('unknown volume (−1, forex) stays unknown', () => {
    const s = series(
      '1h',
      [0, 1].map((h) => [MONDAY + h * H, 1, 1, 1, 1, -1] as [number, number, number, number, number, number]),
    )
    expect([...resampleSeries(s, '1d').volume]).toEqual([-1])
  })

  it('fx: Sunday evening bars belong to Monday’s day and week; weeks start on Monday', () => {
    const sunday = MONDAY + 6 * D // 2024-01-07
    const s = series(
      '1h',
      [sunday + 21 * H, sunday + 22 * H, sunday + D + H, sunday + 2 * D].map(
        (t, i) => [t, i + 1, i + 2, i, i + 1, 1] as [number, number, number, number, number, number],
      ),
    )
    expect(rows(resampleSeries(s, '1d', 'fx')).map((r) => r[0])).toEqual(['2024-01-08T00:00:00.000Z', '2024-01-09T00:00:00.000Z'])
    expect(rows(resampleSeries(s, '1d', 'utc')).map((r) => r[0])).toEqual([
      '2024-01-07T00:00:00.000Z',
      '2024-01-08T00:00:00.000Z',
      '2024-01-09T00:00:00.000Z',
    ])
    expect(rows(resampleSeries(s, '1w', 'fx')).map((r) => r[0])).toEqual(['2024-01-08T00:00:00.000Z'])
    expect(rows(resampleSeries(s, '1w', 'utc')).map((r) => r[0])).toEqual(['2024-01-01T00:00:00.000Z', '2024-01-08T00:00:00.000Z'])
  })

  it('us_equity: intraday buckets start at each session’s open, not on the UTC grid', () => {
    const open = MONDAY + 14.5 * H // 14:30 UTC (9:30 New York in winter)
    const bars = [0, 1, 2, 3, 4, 5, 6].map(
      (k) => [open + k * H, 100 + k, 101 + k, 99 + k, 100.5 + k, 10] as [number, number, number, number, number, number],
    )
    const nextDay = bars.map(([t, ...r]) => [t + D, ...r] as [number, number, number, number, number, number])
    const r = resampleSeries(series('1h', [...bars, ...nextDay]), '4h', 'us_equity')
    expect(rows(r).map((x) => x[0])).toEqual([
      '2024-01-01T14:30:00.000Z',
      '2024-01-01T18:30:00.000Z',
      '2024-01-02T14:30:00.000Z',
      '2024-01-02T18:30:00.000Z',
    ])
    expect(r.volume[0]).toBe(40)
    expect(r.volume[1]).toBe(30)
    expect(rows(resampleSeries(series('1h', [...bars, ...nextDay]), '1d', 'us_equity')).map((x) => x[0])).toEqual([
      '2024-01-01T00:00:00.000Z',
      '2024-01-02T00:00:00.000Z',
    ])
  })

  it('keeps the first open, last close, extremes and total volume of any series', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 1, max: 30 }),
            o: fc.integer({ min: 1, max: 1000 }),
            d: fc.integer({ min: 0, max: 50 }),
            v: fc.integer({ min: 0, max: 1e6 }),
          }),
          {
            minLength: 1,
            maxLength: 300,
          },
        ),
        fc.constantFrom('4h', '1d', '1w'),
        fc.constantFrom('utc', 'fx', 'us_equity'),
        (bars, to, session) => {
          let t = MONDAY
          const s = series(
            '1h',
            bars.map(({ gap, o, d, v }) => {
              t += gap * H
              return [t, o, o + d, o - d, o + d / 2, v]
            }),
          )
          const r = resampleSeries(s, to, session as 'utc')
          expect(r.open[0]).toBe(s.open[0])
          expect(r.close[r.length - 1]).toBe(s.close[s.length - 1])
          expect(Math.max(...r.high)).toBe(Math.max(...s.high))
          expect(Math.min(...r.low)).toBe(Math.min(...s.low))
          expect(r.volume.reduce((a, b) => a + b, 0)).toBe(s.volume.reduce((a, b) => a + b, 0))
          for (let i = 1; i < r.length; i++) expect(r.time[i]).toBeGreaterThan(r.time[i - 1])
          // A bucket starts at or before its bars (fx: Sunday's bars open Monday's bucket, a day later at most).
          const slack = session === 'fx' ? 24 * H : 0
          for (let i = 0; i < r.length; i++) expect(r.time[i]).toBeLessThanOrEqual(s.time[s.length - 1] + slack)
        },
      ),
    )
  })

  it('refuses a finer or equal target; infers the calendar from dataset metadata', () => {
    const s = series('1h', [[MONDAY, 1, 1, 1, 1, 1]])
    expect(() => resampleSeries(s, '30m')).toThrow(/coarser timeframe than 1h: 30m is not/)
    expect(() => resampleSeries(s, '1h')).toThrow(/coarser/)
    expect(() => resampleSeries(s, '2h')).toThrow(/Invalid timeframe/)
    expect(sessionFor({ preset: 'equity' })).toBe('us_equity')
    expect(sessionFor({ preset: 'forex' })).toBe('fx')
    expect(sessionFor(undefined)).toBe('utc')
  })
})
