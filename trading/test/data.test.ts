import { describe, expect, it } from 'vitest'
import {
  createSeries,
  formatOhlcvCsv,
  generateSyntheticSeries,
  importVendorCsv,
  listDatasets,
  loadBars,
  mergeBars,
  parseOhlcvCsv,
  saveBars,
  isKtrdrErrorLike,
  detectVendorLayout,
} from './_exports.ts'
import { randomWalk, seriesFromCloses, tempDataStorage } from './_helpers.ts'

const H = 3_600_000

describe('CSV codec', () => {
  it('round-trips a series through format and parse exactly', () => {
    const s = randomWalk(500, 3)
    const back = parseOhlcvCsv(formatOhlcvCsv(s), { symbol: 'TEST', timeframe: '1h' })
    expect(back.issues).toEqual([])
    expect(back.series.length).toBe(500)
    expect(Array.from(back.series.close)).toEqual(Array.from(s.close))
    expect(Array.from(back.series.time)).toEqual(Array.from(s.time))
  })

  it('accepts KTRDR header variants, timezone offsets and CRLF', () => {
    for (const header of [',open,high,low,close,volume', 'date,open,high,low,close,volume', 'Timestamp,Open,High,Low,Close,Volume']) {
      const r = parseOhlcvCsv(`${header}\r\n2024-01-02 01:00:00+01:00,1,2,0.5,1.5,10\r\n2024-01-02T01:00:00Z,1,2,0.5,1.5,-1\r\n`)
      expect(r.issues).toEqual([])
      expect(Array.from(r.series.time)).toEqual([Date.UTC(2024, 0, 2, 0), Date.UTC(2024, 0, 2, 1)])
      expect(r.series.volume[1]).toBe(-1)
    }
  })

  it('refuses a day its month does not have instead of reading it as the next month', () => {
    const rows = ['2000-02-29', '2020-02-29', '2021-02-29', '2021-04-31', '2100-02-29'].map((d) => `${d}T00:00:00Z,1,2,0.5,1.5,10`)
    const r = parseOhlcvCsv(`timestamp,open,high,low,close,volume\n${rows.join('\n')}\n`)
    // 2000 and 2020 are leap years, 2100 is not; 2021-02-29 would have been read as March 1.
    expect(Array.from(r.series.time)).toEqual([Date.UTC(2000, 1, 29), Date.UTC(2020, 1, 29)])
    expect(r.issues.map((i) => i.line)).toEqual([4, 5, 6])
    expect(r.issues.every((i) => /timestamp/.test(i.message))).toBe(true)
  })

  it('reads columns by header name in any order', () => {
    const r = parseOhlcvCsv('timestamp,close,volume,open,low,high\n2024-01-02T00:00:00Z,1.5,10,1,0.5,2\n')
    expect([r.series.open[0], r.series.high[0], r.series.low[0], r.series.close[0], r.series.volume[0]]).toEqual([1, 2, 0.5, 1.5, 10])
  })

  it('reports bad rows with their line numbers', () => {
    const text = [
      'timestamp,open,high,low,close,volume',
      '2024-01-02T00:00:00Z,1,2,0.5,1.5,10',
      '2024-01-02T00:00:00Z,1,2,0.5,1.5,10',
      'not-a-date,1,2,0.5,1.5,10',
      '2024-01-01T00:00:00Z,1,2,0.5,1.5,10',
      '2024-01-03T00:00:00Z,1,1.2,0.5,1.5,10',
      '2024-01-04T00:00:00Z,1.3,2,1.2,1.1,10',
      '2024-01-05T00:00:00Z,1,2,0.5,abc,10',
    ].join('\n')
    const { issues } = parseOhlcvCsv(text)
    expect(issues.map((i) => i.line)).toEqual([3, 4, 5, 6, 7, 8])
    expect(issues[0].message).toMatch(/duplicate/)
    expect(issues[1].message).toMatch(/timestamp/)
    expect(issues[2].message).toMatch(/earlier/)
    expect(issues[3].message).toMatch(/high 1.2 is below max\(open, close\) 1.5/)
    expect(issues[4].message).toMatch(/low 1.2 is above min\(open, close\) 1.1/)
    expect(issues[5].message).toMatch(/close "abc" is not a number/)
  })

  it('parses numbers to the same double as Number()', () => {
    const values = ['1.10001', '0.1', '123456.789012', '-0.0003', '1e-5', '98765432109876543.21', '3']
    const text = `timestamp,open,high,low,close,volume\n${values.map((v, i) => `2024-01-0${1 + (i % 9)}T0${i}:00:00Z,${v},${v},${v},${v},${v}`).join('\n')}\n`
    const r = parseOhlcvCsv(text)
    expect(Array.from(r.series.close)).toEqual(values.map(Number))
  })
})

describe('mergeBars', () => {
  it('lets new rows win, drops duplicates and sorts', () => {
    const a = seriesFromCloses([1, 2, 3], { start: 0, stepMs: H })
    const b = seriesFromCloses([20, 30, 40], { start: H, stepMs: H })
    const m = mergeBars(a, b)
    expect(Array.from(m.time)).toEqual([0, H, 2 * H, 3 * H])
    expect(Array.from(m.close)).toEqual([1, 20, 30, 40])
  })

  it('keeps the last of duplicates inside one input', () => {
    const b = createSeries('X', '1h', 3)
    b.time.set([2 * H, H, 2 * H])
    b.close.set([1, 2, 3])
    const m = mergeBars(undefined, b)
    expect(Array.from(m.time)).toEqual([H, 2 * H])
    expect(Array.from(m.close)).toEqual([2, 3])
  })
})

describe('store', () => {
  it('saves, lists and loads by inclusive date range', async () => {
    const { storage } = tempDataStorage()
    const s = seriesFromCloses(
      Array.from({ length: 72 }, (_, i) => 1 + i / 100),
      { symbol: 'EURUSD', timeframe: '1h', start: Date.UTC(2024, 0, 1) },
    )
    await saveBars(storage, s)
    const day2 = await loadBars(storage, { symbol: 'EURUSD', timeframe: '1h', start: '2024-01-02', end: '2024-01-02' })
    expect(day2.length).toBe(24)
    expect(day2.time[0]).toBe(Date.UTC(2024, 0, 2))
    expect(day2.time[23]).toBe(Date.UTC(2024, 0, 2, 23))
    const exact = await loadBars(storage, { symbol: 'EURUSD', timeframe: '1h', start: '2024-01-01T05:00:00Z', end: '2024-01-01T07:00:00Z' })
    expect(exact.length).toBe(3)
    const list = await listDatasets(storage)
    expect(list).toEqual([
      {
        symbol: 'EURUSD',
        timeframe: '1h',
        key: 'EURUSD_1h.csv',
        start: '2024-01-01T00:00:00Z',
        end: '2024-01-03T23:00:00Z',
        bars: 72,
        synthetic: false,
      },
    ])
  })

  it('throws DataNotFound (404, not retryable) with what to do', async () => {
    const { storage } = tempDataStorage()
    const error = await loadBars(storage, { symbol: 'GBPUSD', timeframe: '1h' }).catch((e) => e)
    expect(isKtrdrErrorLike(error)).toBe(true)
    expect(error.statusCode).toBe(404)
    expect(error.code).toBe('DATA_NOT_FOUND')
    expect(error.retryable).toBe(false)
    expect(error.message).toMatch(/ib-fetch|ktrdr data import/)
  })

  it('rejects bad symbols, timeframes and dates with 400', async () => {
    const { storage } = tempDataStorage()
    for (const opts of [
      { symbol: 'EUR/USD', timeframe: '1h' },
      { symbol: 'A'.repeat(21), timeframe: '1h' },
      { symbol: 'EURUSD', timeframe: '2h' },
      { symbol: 'EURUSD', timeframe: '1h', start: '2024-13-01' },
    ]) {
      const e = await loadBars(storage, opts).catch((x) => x)
      expect(e.statusCode).toBe(400)
    }
  })

  it('refuses to load a file with bad rows, naming the lines', async () => {
    const { storage } = tempDataStorage()
    await storage.setItemRaw(
      'BAD_1h.csv',
      new TextEncoder().encode(
        'timestamp,open,high,low,close,volume\n2024-01-02T00:00:00Z,1,2,0.5,1.5,1\n2024-01-01T00:00:00Z,1,2,0.5,1.5,1\n',
      ),
    )
    const e = await loadBars(storage, { symbol: 'BAD', timeframe: '1h' }).catch((x) => x)
    expect(e.statusCode).toBe(422)
    expect(e.message).toMatch(/line 3/)
  })

  it('refuses to save an invalid series and leaves the stored file intact', async () => {
    const { storage } = tempDataStorage()
    const good = seriesFromCloses([1, 2, 3], { symbol: 'EURUSD' })
    await saveBars(storage, good)
    const bad = seriesFromCloses([1, 2, 3], { symbol: 'EURUSD' })
    bad.high[1] = 0
    await expect(saveBars(storage, bad)).rejects.toMatchObject({ statusCode: 422 })
    expect((await loadBars(storage, { symbol: 'EURUSD', timeframe: '1h' })).high[1]).toBe(good.high[1])
  })

  it('merges on save when asked', async () => {
    const { storage } = tempDataStorage()
    await saveBars(storage, seriesFromCloses([1, 2, 3], { symbol: 'EURUSD', start: 0 }))
    await saveBars(storage, seriesFromCloses([5, 6], { symbol: 'EURUSD', start: 2 * H }), { merge: true })
    const s = await loadBars(storage, { symbol: 'EURUSD', timeframe: '1h' })
    expect(Array.from(s.close)).toEqual([1, 2, 5, 6])
  })
})

describe('synthetic market', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = generateSyntheticSeries({ symbol: 'X', timeframe: '1h', bars: 300, seed: 5 })
    const b = generateSyntheticSeries({ symbol: 'X', timeframe: '1h', bars: 300, seed: 5 })
    const c = generateSyntheticSeries({ symbol: 'X', timeframe: '1h', bars: 300, seed: 6 })
    expect(Array.from(a.close)).toEqual(Array.from(b.close))
    expect(Array.from(a.close)).not.toEqual(Array.from(c.close))
    expect(a.synthetic).toBe(true)
  })

  it('produces valid OHLC on the trading calendar', () => {
    for (const preset of ['forex', 'equity'] as const) {
      for (const timeframe of ['5m', '1h', '1d']) {
        const s = generateSyntheticSeries({ symbol: 'X', timeframe, bars: 2000, preset, seed: 1 })
        for (let i = 0; i < s.length; i++) {
          expect(s.high[i]).toBeGreaterThanOrEqual(Math.max(s.open[i], s.close[i]))
          expect(s.low[i]).toBeLessThanOrEqual(Math.min(s.open[i], s.close[i]))
          if (i) expect(s.time[i]).toBeGreaterThan(s.time[i - 1])
          const d = new Date(s.time[i])
          expect(d.getUTCDay()).not.toBe(6)
          if (preset === 'equity') {
            expect(d.getUTCDay()).not.toBe(0)
            expect(s.volume[i]).toBeGreaterThan(0)
          }
        }
      }
    }
  })

  it('shows volatility clustering (autocorrelated absolute returns)', () => {
    const s = generateSyntheticSeries({ symbol: 'X', timeframe: '1h', bars: 20000, seed: 3 })
    const r = Array.from({ length: s.length - 1 }, (_, i) => Math.abs(Math.log(s.close[i + 1] / s.close[i])))
    const mean = r.reduce((a, b) => a + b, 0) / r.length
    let num = 0,
      den = 0
    for (let i = 1; i < r.length; i++) {
      num += (r[i] - mean) * (r[i - 1] - mean)
      den += (r[i] - mean) ** 2
    }
    expect(num / den).toBeGreaterThan(0.05)
  })

  it('is marked synthetic in the store listing and on load', async () => {
    const { storage } = tempDataStorage()
    const s = generateSyntheticSeries({ symbol: 'SYN', timeframe: '1d', bars: 50, seed: 9, preset: 'equity' })
    await saveBars(storage, s, { meta: { synthetic: true, generator: 'test', seed: 9, preset: 'equity' } })
    expect((await listDatasets(storage))[0]).toMatchObject({ symbol: 'SYN', synthetic: true, bars: 50 })
    expect((await loadBars(storage, { symbol: 'SYN', timeframe: '1d' })).synthetic).toBe(true)
  })
})

describe('vendor import', () => {
  const opts = { symbol: 'X', timeframe: '1h' }
  it('detects Yahoo, MetaTrader, Dukascopy, epoch and KTRDR layouts', () => {
    const t = Date.UTC(2024, 0, 2, 13)
    const cases: Array<[string, string, number]> = [
      ['yahoo', 'Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,1,2,0.5,1.5,1.4,100\n', Date.UTC(2024, 0, 2)],
      ['metatrader', '2024.01.02,13:00,1,2,0.5,1.5,100\n', t],
      ['metatrader', '<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\n2024.01.02\t13:00:00\t1\t2\t0.5\t1.5\t100\n', t],
      ['dukascopy', 'Gmt time,Open,High,Low,Close,Volume\n02.01.2024 13:00:00.000,1,2,0.5,1.5,100\n', t],
      ['epoch', 'time,open,high,low,close,volume\n1704200400,1,2,0.5,1.5,100\n', t],
      ['epoch', '1704200400000,1,2,0.5,1.5,100\n', t],
      ['ktrdr', 'timestamp,open,high,low,close,volume\n2024-01-02T13:00:00Z,1,2,0.5,1.5,100\n', t],
    ]
    for (const [layout, text, time] of cases) {
      const r = importVendorCsv(text, opts)
      expect(r.layout).toBe(layout)
      expect(r.series.time[0]).toBe(time)
      expect([r.series.open[0], r.series.high[0], r.series.low[0], r.series.close[0]]).toEqual([1, 2, 0.5, 1.5])
    }
  })

  it('sorts, drops duplicates and reports unreadable lines', () => {
    const r = importVendorCsv(
      '2024.01.02,14:00,1,2,0.5,1.5,1\n2024.01.02,13:00,1,2,0.5,1.5,1\n2024.01.02,14:00,1,2,0.5,1.6,1\nxx,yy,1,2,3,4,5\n',
      opts,
    )
    expect(Array.from(r.series.close)).toEqual([1.5, 1.6])
    expect(r.duplicatesDropped).toBe(1)
  })

  it('rejects unknown layouts with the list of supported ones', () => {
    expect(() => detectVendorLayout('foo;bar\n1;2\n')).toThrow(/Supported layouts/)
    expect(() => importVendorCsv('hello world\n', opts)).toThrow(/Supported layouts/)
  })
})
