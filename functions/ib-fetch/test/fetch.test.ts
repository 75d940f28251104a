import { afterEach, describe, expect, it } from 'vitest'
import { createSeries, loadBars, saveBars } from '../../../trading/index.ts'
import { createPacingGate } from '../src/pacing.ts'
import { createHeadTimestampCache, HEAD_TTL_MS } from '../src/head-cache.ts'
import { barsBetween } from './tws-sim/series.ts'
import { createHarness, DAY, HOUR, NOW, pacingBreaches, requestedRange, type Harness } from './_harness.ts'

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const EUR = { seed: 7, head: Date.UTC(2024, 0, 1), type: 'CASH' as const }

/** Stores exactly the simulator's bars for [start, end) so gap analysis sees real coverage. */
async function seed(harness: Harness, symbol: string, timeframe: string, start: number, end: number, interval: number) {
  const bars = barsBetween(EUR, start, end, interval)
  const s = createSeries(symbol, timeframe, bars.length)
  bars.forEach((b, i) => {
    s.time[i] = b.time
    s.open[i] = b.open
    s.high[i] = b.high
    s.low[i] = b.low
    s.close[i] = b.close
    s.volume[i] = b.volume
  })
  await saveBars(harness.storage.data, s)
  return s
}

describe('ib-fetch against the TWS simulator', () => {
  it('backfills a long 1-minute history without ever breaking IB pacing', async () => {
    h = await createHarness()
    const result = await h.fetch({ symbol: 'EUR.USD', timeframe: '1m', mode: 'full', start_date: '2026-09-20' })
    const hist = h.sim.requests
    expect(hist.length).toBeGreaterThan(60) // crosses the 60-per-10-minutes window
    expect(result.segments).toBe(hist.length)
    expect(result.segments_failed).toBe(0)
    expect(hist.every((r) => r.violations.length === 0 && r.outcome !== 'pacing')).toBe(true)
    expect(pacingBreaches(hist)).toEqual([])
    // Oldest first, contiguous one-day segments from the start date.
    const ranges = hist.map(requestedRange)
    expect(ranges[0].start).toBe(Date.UTC(2026, 8, 20))
    // Contiguous one-day segments; the last, partial one is asked for as "1 D" and filtered.
    for (let i = 1; i < ranges.length; i++) expect(ranges[i].end - ranges[i - 1].end).toBe(Math.min(DAY, NOW - ranges[i - 1].end))
    expect(ranges.at(-1)!.end).toBe(NOW)
    const stored = await loadBars(h.storage.data, { symbol: 'EURUSD', timeframe: '1m' })
    const expected = barsBetween(EUR, Date.UTC(2026, 8, 20), NOW, 60_000)
    expect(stored.length).toBe(expected.length)
    expect(result.rows_downloaded).toBe(expected.length)
    expect(stored.close[1000]).toBe(expected[1000].close)
    expect(stored.volume[0]).toBe(-1) // BID bars carry no volume
    expect(hist[0]).toMatchObject({
      symbol: 'EUR',
      secType: 'CASH',
      exchange: 'IDEALPRO',
      whatToShow: 'BID',
      barSize: '1 min',
      useRTH: true,
    })
  })

  it('tail fetches the trailing gap newest first; backfill extends history oldest first; full fills both ends', async () => {
    h = await createHarness()
    const from = NOW - 100 * DAY
    const to = NOW - 40 * DAY
    await seed(h, 'EURUSD', '1h', from, to, HOUR)

    const tail = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'tail' })
    const tailRanges = h.sim.requests.map(requestedRange)
    // The store ends 40 days ago: the tail catches up from its last bar (not only the last 30
    // days, which would leave a hole), newest segment first.
    expect(tail).toMatchObject({ mode: 'tail', segments: 2, segments_failed: 0, gaps_filled: 1 })
    expect(tailRanges[0].end).toBe(NOW)
    expect(tailRanges[1].end).toBeLessThan(tailRanges[0].end)
    expect(h.sim.headRequests).toHaveLength(0) // tail without a start date needs no head timestamp
    const afterTail = await loadBars(h.storage.data, { symbol: 'EURUSD', timeframe: '1h' })
    expect(afterTail.length).toBe(barsBetween(EUR, from, NOW, HOUR).length)
    // A second tail right away finds nothing to do.
    h.sim.requests.length = 0
    expect(await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'tail' })).toMatchObject({ segments: 0, rows_downloaded: 0 })

    h.sim.requests.length = 0
    const back = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'backfill' })
    const b = h.sim.requests.map(requestedRange)
    expect(b[0].start).toBe(EUR.head)
    expect(b.at(-1)!.end).toBe(from)
    // Oldest first, contiguous 30-day segments (the last one shorter, its duration rounded up).
    for (let i = 1; i < b.length; i++) expect(b[i].end - b[i - 1].end).toBe(Math.min(30 * DAY, from - b[i - 1].end))
    expect(back.segments).toBe(Math.ceil((from - EUR.head) / (30 * DAY)))

    h.sim.requests.length = 0
    const full = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full' })
    expect(full.rows_downloaded).toBe(0) // everything since the head is stored now
    const stored = await loadBars(h.storage.data, { symbol: 'EURUSD', timeframe: '1h' })
    expect(stored.length).toBe(barsBetween(EUR, EUR.head, NOW, HOUR).length)
    expect(pacingBreaches(h.sim.requests)).toEqual([])
  })

  it('takes the whole first bar when the head timestamp is mid-bar, and a second run asks for nothing', async () => {
    const head = Date.UTC(2024, 0, 2, 14, 30) // first trade of a stock: Tuesday 14:30 UTC
    h = await createHarness({ series: { MSFT: { seed: 3, head, type: 'STK' } } })
    const first = await h.fetch({ symbol: 'MSFT', timeframe: '1d', mode: 'full' })
    expect(first.range.start).toBe('2024-01-02T00:00:00Z')
    const stored = await loadBars(h.storage.data, { symbol: 'MSFT', timeframe: '1d' })
    expect(stored.time[0]).toBe(Date.UTC(2024, 0, 2))
    h.sim.requests.length = 0
    expect(await h.fetch({ symbol: 'MSFT', timeframe: '1d', mode: 'full' })).toMatchObject({ segments: 0, rows_downloaded: 0 })
    expect(h.sim.requests).toHaveLength(0)
    expect(h.sim.requests.length + h.sim.headRequests.length).toBe(2) // only the two head-timestamp requests
  })

  it('asks IB for a head timestamp once an hour per contract (docs/domain.md#ib-pacing), across fetches on the host', async () => {
    h = await createHarness()
    const headCache = createHeadTimestampCache({ path: `${h.dir}/head.json`, clock: h.clock })
    await h.fetch({ symbol: 'AAPL', timeframe: '1d', mode: 'full' }, { headCache })
    expect(h.sim.headRequests).toHaveLength(1)
    // Another timeframe of the same contract, and a second run: the cached head answers.
    await h.fetch({ symbol: 'AAPL', timeframe: '1d', mode: 'backfill' }, { headCache })
    await h.fetch({ symbol: 'AAPL', timeframe: '1h', mode: 'backfill', start_date: '2026-11-01' }, { headCache })
    expect(h.sim.headRequests).toHaveLength(1)
    // A different contract is not served from another's entry.
    await h.fetch({ symbol: 'EURUSD', timeframe: '1d', mode: 'backfill' }, { headCache })
    expect(h.sim.headRequests.map((r) => r.symbol)).toEqual(['AAPL', 'EUR'])
    // After an hour the head is asked for again.
    h.clock.advance(HEAD_TTL_MS)
    await h.fetch({ symbol: 'AAPL', timeframe: '1d', mode: 'backfill' }, { headCache })
    expect(h.sim.headRequests.map((r) => r.symbol)).toEqual(['AAPL', 'EUR', 'AAPL'])
  })

  it('shares one pacing budget and distinct client ids between fetches running at the same time', async () => {
    h = await createHarness()
    const start_date = new Date(NOW - 200 * DAY).toISOString()
    const [fx, stock] = await Promise.all([
      h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full', start_date }),
      h.fetch({ symbol: 'AAPL', timeframe: '1h', mode: 'full', start_date }),
    ])
    expect(fx.segments_failed + stock.segments_failed).toBe(0)
    expect(new Set(h.sim.connections.map((c) => c.clientId)).size).toBe(2)
    const symbols = new Set(h.sim.requests.map((r) => r.symbol))
    expect(symbols).toEqual(new Set(['EUR', 'AAPL']))
    // IB's own rules, judged by the simulator on arrival.
    expect(h.sim.requests.every((r) => r.violations.length === 0)).toBe(true)
    // Our spacing rule, judged on the shared ledger's grant times: with two fetchers sleeping on
    // one virtual clock, arrival times at the simulator can bunch up in ways real time cannot.
    const ledger = await createPacingGate({ path: h.pacingPath, clock: h.clock }).history()
    expect(ledger.length).toBe(h.sim.requests.length + h.sim.headRequests.length)
    expect(pacingBreaches(ledger.map((e) => ({ at: e.t, symbol: e.c, endDateTime: e.r, durationStr: '', barSize: '' })))).toEqual([])
    expect(h.sim.requests.find((r) => r.symbol === 'AAPL')).toMatchObject({
      secType: 'STK',
      exchange: 'SMART',
      currency: 'USD',
      whatToShow: 'TRADES',
    })
  })

  it('never loses stored history outside the requested range (docs/domain.md#bar-storage)', async () => {
    h = await createHarness()
    const old = await seed(h, 'EURUSD', '1h', Date.UTC(2024, 2, 4), Date.UTC(2024, 2, 9), HOUR)
    const recent = (await seed(h, 'EURUSD', '1h', Date.UTC(2026, 10, 9), Date.UTC(2026, 10, 14), HOUR)).length
    // The second seed replaced the file: put the old week back next to it.
    await saveBars(h.storage.data, old, { merge: true })
    const before = await loadBars(h.storage.data, { symbol: 'EURUSD', timeframe: '1h' })
    expect(before.length).toBe(old.length + recent)

    const result = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'tail', start_date: '2025-06-02', end_date: '2025-06-20' })
    expect(result.rows_downloaded).toBeGreaterThan(0)
    const after = await loadBars(h.storage.data, { symbol: 'EURUSD', timeframe: '1h' })
    expect(after.length).toBe(before.length + result.rows_downloaded)
    for (const t of before.time) expect(after.time.includes(t)).toBe(true)
    for (let i = 1; i < after.length; i++) expect(after.time[i]).toBeGreaterThan(after.time[i - 1])
  })

  it('saves periodically, and a cancelled fetch resumes without refetching what it saved', async () => {
    h = await createHarness()
    const controller = new AbortController()
    let storedMidway = -1
    const harness = h
    const first = h.fetch(
      { symbol: 'EURUSD', timeframe: '1h', mode: 'full' },
      {
        signal: controller.signal,
        saveEverySegments: 4,
        saveIntervalMs: 3_600_000,
        progress: (u) => {
          const seg = Number(u.context?.segment)
          if (seg === 7 && storedMidway < 0) {
            storedMidway = 0
            // Reading here runs concurrently with the loop; record what the periodic save left.
            void loadBars(harness.storage.data, { symbol: 'EURUSD', timeframe: '1h' }).then(
              (s) => {
                storedMidway = s.length
              },
              () => {
                storedMidway = 0
              },
            )
          }
          if (seg === 10) controller.abort(new Error('cancelled by test'))
        },
      },
    )
    await expect(first).rejects.toThrow('cancelled by test')
    const firstRun = h.sim.requests.map(requestedRange)
    expect(firstRun).toHaveLength(9)
    expect(storedMidway).toBe(barsBetween(EUR, firstRun[0].start, firstRun[3].end, HOUR).length)
    const saved = await loadBars(h.storage.data, { symbol: 'EURUSD', timeframe: '1h' })
    expect(saved.length).toBe(barsBetween(EUR, firstRun[0].start, firstRun[8].end, HOUR).length)

    h.sim.requests.length = 0
    const second = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full' })
    const secondRun = h.sim.requests.map(requestedRange)
    // The second run starts where the first stopped: nothing saved is asked for again.
    for (const r of secondRun) expect(r.start).toBeGreaterThanOrEqual(firstRun[8].end - HOUR)
    expect(second.segments_failed).toBe(0)
    const all = await loadBars(h.storage.data, { symbol: 'EURUSD', timeframe: '1h' })
    expect(all.length).toBe(barsBetween(EUR, EUR.head, NOW, HOUR).length)
  })
})
