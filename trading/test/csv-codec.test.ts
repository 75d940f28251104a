import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  createSeries,
  encodeOhlcvCsv,
  formatIsoSeconds,
  formatOhlcvCsv,
  listDatasets,
  parseOhlcvCsv,
  saveBars,
  summarizeOhlcvCsv,
} from './_exports.ts'
import { randomWalk, tempDataStorage } from './_helpers.ts'

const H = 3_600_000

// Forex-scale prices (5 decimals), equity prices, arbitrary doubles, large volumes.
const price = fc.oneof(
  fc.integer({ min: 1, max: 5_000_000 }).map((m) => m / 1e5),
  fc.integer({ min: 1, max: 10_000_000 }).map((m) => m / 100),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e-3, max: 1e-3 }),
  fc.constantFrom(0, -0, 1e-12, 123456789.123, 2 ** 53 - 1, 2 ** 53 + 2, 0.1 + 0.2, Number.MIN_VALUE, Number.MAX_VALUE),
)
const volume = fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.double({ min: 0, max: 1e18, noNaN: true }))
const time = fc.integer({ min: Date.UTC(1900, 0, 1) / 1000, max: Date.UTC(2200, 0, 1) / 1000 }).map((s) => s * 1000)

describe('CSV writer', () => {
  it('parses back to the identical Float64 values and timestamps (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(time, price, price, price, price, volume), { minLength: 1, maxLength: 40 }), (rows) => {
        const s = createSeries('X', '1h', rows.length)
        rows.forEach(([t, o, h, l, c, v], i) => {
          s.time[i] = t
          s.open[i] = o
          s.high[i] = h
          s.low[i] = l
          s.close[i] = c
          s.volume[i] = v
        })
        const back = parseOhlcvCsv(formatOhlcvCsv(s), { maxIssues: 0 }).series
        expect(back.length).toBe(rows.length)
        for (const col of ['time', 'open', 'high', 'low', 'close', 'volume'] as const) {
          // Object.is: -0 writes as "0", which is the only value allowed to change sign.
          for (let i = 0; i < rows.length; i++) {
            const want = s[col][i]
            expect(back[col][i] === want || (want === 0 && back[col][i] === 0)).toBe(true)
          }
        }
      }),
      { numRuns: 400 },
    )
  })

  it('writes the same text as the row-by-row template it replaced', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(time, price, volume), { minLength: 1, maxLength: 30 }), (rows) => {
        const s = createSeries('X', '1h', rows.length)
        rows.forEach(([t, p, v], i) => {
          s.time[i] = t
          s.open[i] = p
          s.high[i] = p
          s.low[i] = p
          s.close[i] = p
          s.volume[i] = v
        })
        const reference =
          ['timestamp,open,high,low,close,volume', ...rows.map(([t, p, v]) => `${formatIsoSeconds(t)},${p},${p},${p},${p},${v}`)].join(
            '\n',
          ) + '\n'
        const ours = formatOhlcvCsv(s)
        // Same lines, except where String(x) chose exponent notation and we wrote plain decimals.
        const a = ours.split('\n'),
          b = reference.split('\n')
        expect(a.length).toBe(b.length)
        for (let i = 0; i < a.length; i++) {
          if (a[i] === b[i]) continue
          const [ta, ...na] = a[i].split(','),
            [tb, ...nb] = b[i].split(',')
          expect(ta).toBe(tb)
          expect(na.map(Number)).toEqual(nb.map(Number))
        }
      }),
      { numRuns: 200 },
    )
  })

  it('encodes bytes equal to the string form', () => {
    const s = randomWalk(300, 7)
    expect(new TextDecoder().decode(encodeOhlcvCsv(s))).toBe(formatOhlcvCsv(s))
  })
})

describe('dataset summary', () => {
  it('agrees with a full parse on saved files', async () => {
    const { storage } = tempDataStorage()
    const s = randomWalk(500, 11)
    s.symbol = 'EURUSD'
    await saveBars(storage, s)
    const raw = (await storage.getItemRaw('EURUSD_1h.csv')) as Uint8Array
    const full = parseOhlcvCsv(raw).series
    expect(summarizeOhlcvCsv(raw)).toEqual({ rows: full.length, start: full.time[0], end: full.time[full.length - 1] })
    const [info] = await listDatasets(storage)
    expect(info).toMatchObject({ bars: 500, start: formatIsoSeconds(full.time[0]), end: formatIsoSeconds(full.time[499]) })
  })

  it('handles headerless, CRLF, blank lines and header-only files like the full parse', () => {
    const enc = (t: string) => new TextEncoder().encode(t)
    const cases = [
      '2024-01-02T00:00:00Z,1,2,0.5,1.5,1\r\n\r\n2024-01-02T01:00:00Z,1,2,0.5,1.5,1\r\n',
      'Date,Open,High,Low,Close,Volume\n\n2024-01-02 00:00:00,1,2,0.5,1.5,1\n2024-01-02T05:00:00+01:00,1,2,0.5,1.5,1',
      'timestamp,open,high,low,close,volume\n',
      '',
      `timestamp,close,open,low,high,volume\n2024-01-03T00:00:00Z,1,1,1,1,1\n`,
    ]
    for (const text of cases) {
      const full = parseOhlcvCsv(text).series
      expect(summarizeOhlcvCsv(enc(text))).toMatchObject({
        rows: full.length,
        ...(full.length ? { start: full.time[0], end: full.time[full.length - 1] } : {}),
      })
    }
  })

  it('falls back to the full parse when an end line is broken', async () => {
    const bad = 'timestamp,open,high,low,close,volume\n2024-01-02T00:00:00Z,1,2,0.5,1.5,1\n2024-01-02T01:00:00Z,1,2,0.5,1.5,1\ngarbage\n'
    expect(summarizeOhlcvCsv(new TextEncoder().encode(bad))).toBeUndefined()
    expect(summarizeOhlcvCsv(new TextEncoder().encode('nonsense,header\n2024-01-02T00:00:00Z,1,2,0.5,1.5,1\n'))).toBeUndefined()
    const { storage } = tempDataStorage()
    await storage.setItemRaw('ODD_1h.csv', new TextEncoder().encode(bad))
    expect((await listDatasets(storage))[0]).toMatchObject({
      bars: 2,
      start: '2024-01-02T00:00:00Z',
      end: formatIsoSeconds(Date.UTC(2024, 0, 2) + H),
    })
  })
})
