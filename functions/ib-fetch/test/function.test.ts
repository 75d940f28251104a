import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { runFunctionInProcess } from '../../../runtime/function/index.ts'
import ibFetch, { ibFetchOverrides } from '../index.ts'
import { createVirtualClock } from '../src/clock.ts'
import { createTwsSimulator, type TwsSimulator } from './tws-sim/server.ts'
import { NOW } from './_harness.ts'

let sim: TwsSimulator | undefined
let dir: string | undefined
afterEach(async () => {
  await sim?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
  sim = undefined
  dir = undefined
  ibFetchOverrides.clock = undefined
  ibFetchOverrides.config = undefined
})

describe('ib-fetch as a function', () => {
  it('declares its contract: data_load, needs an ib host, input as the download route sends it', () => {
    expect(ibFetch.name).toBe('ib-fetch')
    expect(ibFetch.operation_type).toBe('data_load')
    expect(ibFetch.placement).toEqual({ requires: { ib: true } })
    // The manifest carries the input-side schema: the gateway validates request bodies with it.
    const schema = z.toJSONSchema(ibFetch.input, { io: 'input' }) as { required?: string[]; properties: Record<string, unknown> }
    expect(schema.required?.sort()).toEqual(['symbol', 'timeframe'])
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['mode', 'start_date', 'end_date', 'instrument_type']))
  })

  it('rejects bad input with 422 before touching IB', async () => {
    await expect(runFunctionInProcess(ibFetch, { symbol: 'EURUSD', timeframe: '2h' })).rejects.toMatchObject({
      statusCode: 422,
      code: 'INPUT_INVALID',
    })
    await expect(runFunctionInProcess(ibFetch, { symbol: 'EUR/USD', timeframe: '1h' })).rejects.toMatchObject({ statusCode: 422 })
    await expect(runFunctionInProcess(ibFetch, { symbol: 'EURUSD', timeframe: '1h', mode: 'local' })).rejects.toMatchObject({
      statusCode: 422,
    })
  })

  it('runs end to end through the function context and its storage mount', async () => {
    const clock = createVirtualClock(NOW)
    sim = await createTwsSimulator({ clock, series: { EUR: { seed: 3, head: Date.UTC(2025, 0, 1), type: 'CASH' } } })
    dir = await mkdtemp(join(tmpdir(), 'ktrdr-ib-fn-'))
    ibFetchOverrides.clock = clock
    ibFetchOverrides.config = { port: sim.port, pacingDir: dir, clientIds: '111-112' }
    const run = await runFunctionInProcess(ibFetch, { symbol: 'EUR.USD', timeframe: '4h' }, { storage: { root: join(dir, 'store') } })
    expect(run.result).toMatchObject({ symbol: 'EURUSD', timeframe: '4h', mode: 'tail', segments: 1, segments_failed: 0, gaps_filled: 1 })
    expect(run.result.rows_downloaded).toBeGreaterThan(100)
    expect(await run.storage.data.hasItem('EURUSD_4h.csv')).toBe(true)
    expect(run.progress.at(-1)?.percentage).toBe(100)
    await run.cleanup()
  })

  it('stops between segments when the operation is cancelled and keeps what it fetched', async () => {
    const clock = createVirtualClock(NOW)
    sim = await createTwsSimulator({ clock, series: { EUR: { seed: 3, head: Date.UTC(2025, 0, 1), type: 'CASH' } } })
    dir = await mkdtemp(join(tmpdir(), 'ktrdr-ib-fn-'))
    ibFetchOverrides.clock = clock
    ibFetchOverrides.config = { port: sim.port, pacingDir: dir }
    const controller = new AbortController()
    const storageRoot = join(dir, 'store')
    const running = runFunctionInProcess(
      ibFetch,
      { symbol: 'EURUSD', timeframe: '1h', mode: 'full' },
      {
        storage: { root: storageRoot },
        signal: controller.signal,
        onProgress: (u) => {
          if (u.context?.segment === 3) controller.abort(new Error('operation cancelled'))
        },
      },
    )
    await expect(running).rejects.toThrow('operation cancelled')
    expect(sim.requests).toHaveLength(2)
    const { createKtrdrStorage } = await import('../../../storage/index.ts')
    const storage = await createKtrdrStorage({ root: storageRoot })
    expect(String(await storage.data.getItem('EURUSD_1h.csv')).split('\n').length).toBeGreaterThan(500)
    await storage.dispose()
  })
})
