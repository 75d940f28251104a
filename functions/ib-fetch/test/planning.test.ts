import { describe, expect, it } from 'vitest'
import { resolveContract } from '../src/contract.ts'
import { analyzeGaps, classifyInternal } from '../src/gaps.ts'
import { segmentGaps } from '../src/segments.ts'
import { durationString, formatIbDateTime, MAX_SPAN_MS, parseIbTime } from '../src/timeframes.ts'
import { parseClientIds, resolveIbFetchConfig } from '../src/config.ts'
import { classifyIbError } from '../src/errors.ts'

const H = 3_600_000
const D = 24 * H

describe('contract resolution (docs/domain.md#ib-requests)', () => {
  it('maps forex pairs in either spelling to CASH on IDEALPRO with BID bars', () => {
    for (const s of ['EURUSD', 'EUR.USD', 'eurusd']) {
      const rc = resolveContract(s)
      expect(rc.symbol).toBe('EURUSD')
      expect(rc.contract).toMatchObject({ symbol: 'EUR', secType: 'CASH', exchange: 'IDEALPRO', currency: 'USD' })
      expect(rc.whatToShow).toBe('BID')
    }
  })
  it('maps stocks to SMART/USD TRADES and honours an explicit instrument type', () => {
    expect(resolveContract('AAPL')).toMatchObject({
      instrumentType: 'STK',
      whatToShow: 'TRADES',
      contract: { exchange: 'SMART', currency: 'USD', secType: 'STK' },
    })
    expect(resolveContract('ES', 'FUT')).toMatchObject({ instrumentType: 'FUT', contract: { exchange: 'CME', secType: 'CONTFUT' } })
    // A six-letter ticker that is not a currency pair stays a stock unless told otherwise.
    expect(resolveContract('ABCDEF').instrumentType).toBe('STK')
    expect(() => resolveContract('AAPL', 'CASH')).toThrow(/not a forex pair/)
  })
})

describe('IB request strings', () => {
  it('never asks for less than the segment (KTRDR floored weeks; we round up: docs/domain.md#ib-requests)', () => {
    expect(durationString(0, 6 * H)).toBe('1 D')
    expect(durationString(0, 7 * D)).toBe('7 D')
    expect(durationString(0, 30 * D)).toBe('30 D')
    expect(durationString(0, 30 * D + H)).toBe('31 D')
    expect(durationString(0, 730 * D)).toBe('2 Y')
  })
  it('formats endDateTime in UTC and parses every time form IB answers with', () => {
    const t = Date.UTC(2026, 10, 27, 9, 5, 7)
    expect(formatIbDateTime(t)).toBe('20261127-09:05:07')
    expect(parseIbTime(String(t / 1000))).toBe(t)
    expect(parseIbTime('20261127')).toBe(Date.UTC(2026, 10, 27))
    expect(parseIbTime('20261127  09:05:07')).toBe(t)
    expect(parseIbTime('garbage')).toBeNaN()
  })
  it('classifies IB messages', () => {
    expect(classifyIbError(162, 'Historical Market Data Service error message:Historical data request pacing violation')).toBe('pacing')
    expect(classifyIbError(162, 'Historical Market Data Service error message:HMDS query returned no data: EUR.USD@IDEALPRO Bid')).toBe(
      'no_data',
    )
    expect(classifyIbError(162, 'Historical Market Data Service error message:No market data permissions for NYSE STK')).toBe('fatal')
    expect(classifyIbError(200, 'No security definition has been found for the request')).toBe('fatal')
    expect(classifyIbError(354, 'Requested market data is not subscribed.')).toBe('fatal')
    expect(classifyIbError(1100, 'Connectivity between IB and Trader Workstation has been lost.')).toBe('connectivity')
  })
  it('parses client id ranges', () => {
    expect(parseClientIds('111-114')).toEqual([111, 112, 113, 114])
    expect(parseClientIds('5, 7-8')).toEqual([5, 7, 8])
    expect(() => parseClientIds('abc')).toThrow(/IB_CLIENT_ID/)
  })
  it('reads numbers from the environment with the one env-number reader: nonsense is refused, not NaN', () => {
    expect(resolveIbFetchConfig({}, { KTRDR_IB_TIMEOUT_MS: '5000', KTRDR_DATA_PERIODIC_SAVE_INTERVAL: '2' })).toMatchObject({
      connectTimeoutMs: 5000,
      saveIntervalMs: 2000,
    })
    expect(() => resolveIbFetchConfig({}, { KTRDR_IB_TIMEOUT_MS: 'soon' })).toThrow(/KTRDR_IB_TIMEOUT_MS="soon"/)
    expect(() => resolveIbFetchConfig({}, { KTRDR_IB_SAVE_EVERY_SEGMENTS: '1o' })).toThrow(/KTRDR_IB_SAVE_EVERY_SEGMENTS/)
  })
})

describe('gap analysis (docs/domain.md#ib-fetch-flow)', () => {
  const hourly = (from: number, to: number, skipWeekends = true) => {
    const out: number[] = []
    for (let t = from; t < to; t += H) {
      const day = new Date(t).getUTCDay()
      const hour = new Date(t).getUTCHours()
      const closed = day === 6 || (day === 5 && hour >= 21) || (day === 0 && hour < 21)
      if (!skipWeekends || !closed) out.push(t)
    }
    return out
  }
  const mon = Date.UTC(2026, 10, 2) // Monday

  it('makes one gap of the whole range when nothing is stored', () => {
    const gaps = analyzeGaps({ times: [], start: mon, end: mon + 3 * D, timeframe: '1h', mode: 'tail', instrumentType: 'CASH' })
    expect(gaps).toEqual([{ start: mon, end: mon + 3 * D, kind: 'all', classification: 'NO_DATA' }])
  })

  it('finds leading and trailing gaps and skips weekends inside the data', () => {
    const times = hourly(mon + 2 * D, mon + 14 * D) // spans a weekend
    const gaps = analyzeGaps({ times, start: mon, end: mon + 16 * D, timeframe: '1h', mode: 'tail', instrumentType: 'CASH' })
    expect(gaps.map((g) => g.kind)).toEqual(['leading', 'trailing'])
    expect(gaps[0]).toMatchObject({ start: mon, end: mon + 2 * D })
    expect(gaps[1]).toMatchObject({ start: times.at(-1)! + H, end: mon + 16 * D })
  })

  it('finds internal holes in tail mode, classifies them, and ignores them in backfill unless longer than a request span', () => {
    const times = hourly(mon, mon + 40 * D).filter(
      (t) => !(t >= mon + 8 * D && t < mon + 10 * D + 12 * H) && !(t >= mon + 20 * D && t < mon + 20 * D + 3 * H),
    )
    const tail = analyzeGaps({ times, start: mon, end: mon + 40 * D, timeframe: '1h', mode: 'tail', instrumentType: 'CASH' })
    const internal = tail.filter((g) => g.kind === 'internal')
    // The 2.5-day weekday hole is fetched; the 3-hour one is within tolerance and skipped.
    expect(internal).toHaveLength(1)
    expect(internal[0]).toMatchObject({ start: mon + 8 * D, end: mon + 10 * D + 12 * H, classification: 'UNEXPECTED' })
    const backfill = analyzeGaps({ times, start: mon, end: mon + 40 * D, timeframe: '1h', mode: 'backfill', instrumentType: 'CASH' })
    expect(backfill.filter((g) => g.kind === 'internal')).toHaveLength(0)
    // A hole longer than one 30-day request (an interrupted backfill) is found in every mode.
    const holed = hourly(mon - 80 * D, mon + 40 * D).filter((t) => t < mon - 60 * D || t >= mon)
    const resumed = analyzeGaps({
      times: holed,
      start: mon - 80 * D,
      end: mon + 40 * D,
      timeframe: '1h',
      mode: 'backfill',
      instrumentType: 'CASH',
    })
    expect(resumed.filter((g) => g.kind === 'internal')).toMatchObject([{ classification: 'LONG' }])
  })

  it('does not re-ask for a short stretch between the head timestamp and the first stored bar', () => {
    const times = hourly(mon + 20 * H, mon + 5 * D)
    const base = { times, start: mon, end: mon + 5 * D, timeframe: '1h', mode: 'full' as const, instrumentType: 'CASH' as const }
    expect(analyzeGaps({ ...base, headMs: mon }).filter((g) => g.kind === 'leading')).toHaveLength(0)
    // Without a head there, the same stretch is a requested range with missing bars: fetched.
    expect(analyzeGaps(base).filter((g) => g.kind === 'leading')).toHaveLength(1)
  })

  it('skips holes without trading time (weekends, stock nights) and fetches long ones', () => {
    const fri21 = Date.UTC(2026, 10, 6, 21)
    expect(classifyInternal(fri21, fri21 + 2 * D, '1h', 'CASH')).toBeUndefined()
    const nightStart = Date.UTC(2026, 10, 3, 21)
    expect(classifyInternal(nightStart, nightStart + 16.5 * H, '1h', 'STK')).toBeUndefined()
    expect(classifyInternal(mon, mon + 8 * D, '1h', 'STK')).toBe('LONG')
    expect(classifyInternal(mon, mon + 4 * D, '1h', 'CASH')).toBe('MARKET_CLOSURE')
  })
})

describe('segmentation (docs/domain.md#ib-pacing)', () => {
  it('cuts gaps into spans IB serves in one request and orders them per mode', () => {
    const gaps = [
      { start: 0, end: 65 * D, kind: 'leading' as const, classification: 'NO_DATA' as const },
      { start: 100 * D, end: 110 * D, kind: 'trailing' as const, classification: 'NO_DATA' as const },
    ]
    const full = segmentGaps(gaps, '1h', 'full')
    expect(full).toEqual([
      { start: 0, end: 30 * D },
      { start: 30 * D, end: 60 * D },
      { start: 60 * D, end: 65 * D },
      { start: 100 * D, end: 110 * D },
    ])
    expect(segmentGaps(gaps, '1h', 'tail')).toEqual([...full].reverse())
    for (const tf of Object.keys(MAX_SPAN_MS)) {
      for (const s of segmentGaps(gaps, tf, 'backfill')) expect(s.end - s.start).toBeLessThanOrEqual(MAX_SPAN_MS[tf])
    }
  })
})
