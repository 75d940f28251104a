import { createServer, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { isKtrdrError } from '../../../runtime/protocol/index.ts'
import { loadBars } from '../../../trading/index.ts'
import { barsBetween } from './tws-sim/series.ts'
import type { SimFault } from './tws-sim/server.ts'
import { createHarness, DAY, HOUR, NOW, pacingBreaches, requestedRange, type Harness } from './_harness.ts'

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const EUR = { seed: 7, head: Date.UTC(2024, 0, 1), type: 'CASH' as const }
const START = new Date(NOW - 150 * DAY).toISOString() // five 30-day segments of 1h bars
const expectedRows = () => barsBetween(EUR, NOW - 150 * DAY, NOW, HOUR).length

async function storedRows(harness: Harness) {
  return (await loadBars(harness.storage.data, { symbol: 'EURUSD', timeframe: '1h' })).length
}

function faultOnce(at: number, fault: SimFault) {
  return (_: unknown, index: number) => (index === at ? fault : undefined)
}

describe('ib-fetch under injected faults', () => {
  it('backs off 30 s after a pacing violation (162) and retries the segment', async () => {
    h = await createHarness({ fault: faultOnce(2, { type: 'pacing' }) })
    const result = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full', start_date: START })
    expect(result).toMatchObject({ segments: 5, segments_failed: 0 })
    const reqs = h.sim.requests
    expect(reqs[2].outcome).toBe('pacing')
    expect(reqs[3].endDateTime).toBe(reqs[2].endDateTime) // the same segment again
    expect(reqs[3].at - reqs[2].at).toBeGreaterThanOrEqual(30_000)
    expect(pacingBreaches(reqs)).toEqual([])
    expect(await storedRows(h)).toBe(expectedRows())
  })

  it('reconnects after the gateway drops the connection and loses no segment', async () => {
    h = await createHarness({ fault: faultOnce(1, { type: 'disconnect' }) })
    const result = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full', start_date: START })
    expect(result).toMatchObject({ segments: 5, segments_failed: 0 })
    expect(h.sim.connections.length).toBe(2)
    expect(h.sim.requests[2].endDateTime).toBe(h.sim.requests[1].endDateTime)
    expect(await storedRows(h)).toBe(expectedRows())
  })

  it('waits through an IB connectivity loss (1100 → 1102) and resumes', async () => {
    h = await createHarness({ fault: faultOnce(3, { type: 'connectivity', restoreAfterMs: 30 }) })
    const result = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full', start_date: START })
    expect(result).toMatchObject({ segments: 5, segments_failed: 0 })
    expect(h.sim.connections.length).toBe(1)
    expect(h.sim.requests[4].endDateTime).toBe(h.sim.requests[3].endDateTime)
    expect(await storedRows(h)).toBe(expectedRows())
  })

  it('fails with IB message, not retryable, for an unknown contract (200)', async () => {
    h = await createHarness()
    const error = await h.fetch({ symbol: 'GBPUSD', timeframe: '1h', mode: 'full' }).catch((e: unknown) => e)
    expect(isKtrdrError(error)).toBe(true)
    expect(error).toMatchObject({ retryable: false, details: { ib_code: 200 } })
    expect((error as Error).message).toMatch(/No security definition has been found/)
    // Tail mode skips the head timestamp: the historical request meets the same answer.
    const tail = await h.fetch({ symbol: 'GBPUSD', timeframe: '1h' }).catch((e: unknown) => e)
    expect(tail).toMatchObject({ retryable: false, details: { ib_code: 200 } })
  })

  it('fails without permissions (162) but keeps what earlier segments fetched', async () => {
    let calls = 0
    h = await createHarness({
      fault: () =>
        calls++ === 2
          ? {
              type: 'error',
              code: 162,
              message: 'Historical Market Data Service error message:No market data permissions for IDEALPRO CASH',
            }
          : undefined,
    })
    const error = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full', start_date: START }).catch((e: unknown) => e)
    expect(error).toMatchObject({ retryable: false, code: 'IB_REQUEST_REJECTED' })
    expect((error as Error).message).toMatch(/No market data permissions/)
    const first2 = h.sim.requests.slice(0, 2).map(requestedRange)
    expect(await storedRows(h)).toBe(barsBetween(EUR, NOW - 150 * DAY, first2[1].end, HOUR).length)
  })

  it('counts a segment that keeps failing and skips it', async () => {
    h = await createHarness({
      fault: (r) =>
        r.endDateTime === h!.sim.requests[0]?.endDateTime
          ? { type: 'error', code: 10182, message: 'Failed to request historical data' }
          : undefined,
    })
    const result = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full', start_date: START })
    expect(result).toMatchObject({ segments: 5, segments_failed: 1, gaps_filled: 0 })
    expect(h.sim.requests.filter((r) => r.endDateTime === h!.sim.requests[0].endDateTime)).toHaveLength(3)
    expect(pacingBreaches(h.sim.requests)).toEqual([])
  })

  it('treats "HMDS query returned no data" as an empty segment', async () => {
    h = await createHarness({ fault: faultOnce(0, { type: 'no_data' }) })
    const result = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full', start_date: START })
    expect(result).toMatchObject({ segments: 5, segments_failed: 0 })
    expect(h.sim.requests).toHaveLength(5)
  })

  it('moves to the next client id when IB says the id is in use (326)', async () => {
    h = await createHarness()
    h.sim.occupyClientId(111)
    h.sim.occupyClientId(112)
    await h.fetch({ symbol: 'EURUSD', timeframe: '1h' })
    expect(h.sim.connections.map((c) => c.clientId)).toEqual([113])
    h.sim.occupyClientId(113)
    const error = await h.fetch({ symbol: 'EURUSD', timeframe: '1h' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'IB_CLIENT_IDS_EXHAUSTED' })
  })

  it('retries a request IB never answers after the request timeout', async () => {
    h = await createHarness({ fault: faultOnce(1, { type: 'silent' }) })
    const result = await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full', start_date: START }, { requestTimeoutMs: 150 })
    expect(result).toMatchObject({ segments: 5, segments_failed: 0 })
    expect(h.sim.requests[2].endDateTime).toBe(h.sim.requests[1].endDateTime)
    expect(await storedRows(h)).toBe(expectedRows())
  })

  it('fails retryably with a clear message when no IB Gateway listens', async () => {
    h = await createHarness()
    const probe = createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((r) => probe.close(() => r()))
    const error = await h.fetch({ symbol: 'EURUSD', timeframe: '1h' }, { port }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'IB_CONNECT_FAILED', retryable: true })
    expect((error as Error).message).toMatch(/IB_HOST\/IB_PORT/)
  })

  it('tells the operator when it waits long for pacing', async () => {
    h = await createHarness()
    await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full', start_date: START }, { limits: { minIntervalMs: 20_000 } })
    const waits = h.progress.filter((p) => p.context?.pacing_wait_ms !== undefined)
    expect(waits.length).toBeGreaterThanOrEqual(4)
    expect(waits[0].current_step).toMatch(/Waiting 20 s for IB pacing \(min interval\)/)
  })

  it('repairs a bar whose high/low do not contain open/close instead of failing the save', async () => {
    const odd = NOW - 3 * DAY - 12 * HOUR // a Tuesday 00:00 bar
    h = await createHarness({ transformBar: (b) => (b.time === odd ? { ...b, high: Math.min(b.open, b.close) - 0.001 } : b) })
    const result = await h.fetch({ symbol: 'EURUSD', timeframe: '1h' })
    expect(result.segments_failed).toBe(0)
    const stored = await loadBars(h.storage.data, { symbol: 'EURUSD', timeframe: '1h' })
    const i = stored.time.indexOf(odd)
    expect(i).toBeGreaterThan(0)
    expect(stored.high[i]).toBe(Math.max(stored.open[i], stored.close[i]))
  })

  it('refuses to start on a stored file with bad rows, before spending any IB request', async () => {
    h = await createHarness()
    await h.storage.data.setItem('EURUSD_1h.csv', 'timestamp,open,high,low,close,volume\n2026-11-02T00:00:00Z,1.1,1.0,1.2,1.1,-1\n')
    const error = await h.fetch({ symbol: 'EURUSD', timeframe: '1h' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'DATA_INVALID', retryable: false })
    expect(h.sim.requests).toHaveLength(0)
  })

  it('reports progress per segment with the range being fetched', async () => {
    h = await createHarness()
    await h.fetch({ symbol: 'EURUSD', timeframe: '1h', mode: 'full', start_date: START })
    const steps = h.progress.filter((p) => p.context?.segment !== undefined && p.context?.pacing_wait_ms === undefined)
    expect(steps).toHaveLength(5)
    const ranges = h.sim.requests.map(requestedRange)
    steps.forEach((p, i) => {
      expect(Date.parse(String(p.context!.end))).toBe(ranges[i].end)
      expect(p.current_step).toContain(String(p.context!.start))
    })
    const pct = h.progress.map((p) => p.percentage)
    expect(pct).toEqual([...pct].sort((a, b) => a - b))
    expect(pct.at(-1)).toBe(100)
  })
})
