// Min/max-preserving decimation and the equity.csv reader behind the dashboard's charts.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decimateIndices, decimateTogether } from '../_decimate.ts'
import { createEquityParser, drawdownPct, parseUtc } from '../_equity.ts'

describe('decimateIndices', () => {
  it('keeps every point when there are few enough', () => {
    expect([...decimateIndices([3, 1, 2], 16)]).toEqual([0, 1, 2])
  })

  it('keeps both ends, the global extremes and each bucket’s extremes, ascending, within max_points', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 16, max: 400 }),
        (values, maxPoints) => {
          const idx = [...decimateIndices(values, maxPoints)]
          expect(idx.length).toBeLessThanOrEqual(Math.max(maxPoints, values.length <= maxPoints ? values.length : 0))
          for (let i = 1; i < idx.length; i++) expect(idx[i]).toBeGreaterThan(idx[i - 1])
          expect(idx[0]).toBe(0)
          expect(idx.at(-1)).toBe(values.length - 1)
          const kept = idx.map((i) => values[i])
          expect(Math.min(...kept)).toBe(Math.min(...values))
          expect(Math.max(...kept)).toBe(Math.max(...values))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('a one-bar spike in a million points survives (an every-n-th sample would drop it)', () => {
    const n = 1_000_000
    const values = new Float64Array(n)
    for (let i = 0; i < n; i++) values[i] = 100_000 + Math.sin(i / 5000) * 1000
    values[777_777] = 50_000
    values[123_457] = 190_000
    const t0 = performance.now()
    const idx = decimateIndices(values, 2000)
    const ms = performance.now() - t0
    expect(idx.length).toBeLessThanOrEqual(2000)
    expect([...idx]).toContain(777_777)
    expect([...idx]).toContain(123_457)
    // One pass over the values: ≈5 ms measured; generous for a loaded 2-core machine.
    expect(ms).toBeLessThan(500)
  })
})

describe('decimateTogether', () => {
  it('one set of indices, within max_points, holding every curve’s extremes', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 3000 })
          .chain((n) =>
            fc.tuple(
              fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: n, maxLength: n }),
              fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: n, maxLength: n }),
              fc.integer({ min: 16, max: 600 }),
            ),
          ),
        ([a, b, maxPoints]) => {
          const idx = [...decimateTogether([a, b], maxPoints)]
          expect(idx.length).toBeLessThanOrEqual(Math.max(maxPoints, a.length <= maxPoints ? a.length : 0))
          for (let i = 1; i < idx.length; i++) expect(idx[i]).toBeGreaterThan(idx[i - 1])
          for (const curve of [a, b]) {
            expect(Math.min(...idx.map((i) => curve[i]))).toBe(Math.min(...curve))
            expect(Math.max(...idx.map((i) => curve[i]))).toBe(Math.max(...curve))
          }
        },
      ),
      { numRuns: 150 },
    )
  })
})

describe('equity.csv', () => {
  const csv = [
    'timestamp,price,portfolio_value,position',
    '2024-01-01T00:00:00Z,1.1,100000,FLAT',
    '2024-01-01T01:00:00Z,1.2,110000,LONG',
    '2024-01-01T02:00:00Z,1.0,88000,LONG',
    '2024-01-01T03:00:00Z,1.3,120000,FLAT',
    '',
  ].join('\r\n')

  it('parses chunk by chunk, wherever the chunks split, into columns (time in seconds)', () => {
    for (const size of [1, 7, 33, csv.length]) {
      const p = createEquityParser('k')
      for (let i = 0; i < csv.length; i += size) p.push(csv.slice(i, i + size))
      const e = p.end()
      expect(e.length).toBe(4)
      expect([...e.time]).toEqual([0, 1, 2, 3].map((h) => Date.UTC(2024, 0, 1, h) / 1000))
      expect([...e.price]).toEqual([1.1, 1.2, 1.0, 1.3])
      expect([...e.equity]).toEqual([100_000, 110_000, 88_000, 120_000])
    }
  })

  it('reads the backtest’s timestamps exactly as Date.parse does, and odd ones through it', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }), (d) => {
        const s = d.toISOString().replace(/\.\d{3}Z$/, 'Z')
        expect(parseUtc(s)).toBe(Date.parse(s))
      }),
    )
    for (const odd of [
      '2024-13-01T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2024-02-30T25:00:00Z',
      '2024-01-01T00:00:00.250Z',
      '2024-01-01 00:00:00Z',
      '2024-01-01',
      'x',
    ])
      expect(parseUtc(odd), odd).toEqual(Date.parse(odd))
  })

  it('drawdown is in percent of the running peak; its deepest point is the max drawdown', () => {
    const dd = drawdownPct(new Float64Array([100_000, 110_000, 88_000, 120_000]))
    expect([...dd]).toEqual([0, 0, -20, 0])
  })

  it('refuses a file that is not an equity curve, naming the line', () => {
    expect(() => createEquityParser('backtests/x/equity.csv').push('a,b,c\n')).toThrow(/equity.csv line 1: header is "a,b,c"/)
    const p = createEquityParser('backtests/x/equity.csv')
    expect(() => p.push('timestamp,price,portfolio_value,position\n2024-01-01T00:00:00Z,1,abc,FLAT\n')).toThrow(
      /line 2: portfolio_value "abc" is not a number/,
    )
    expect(() => createEquityParser('k').end()).toThrow(/empty/)
  })
})
