// The data window of a loop: from the strategy's market and the dataset's first and last bars, read
// once per version of the data file.
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seriesFromCloses, tempStorage, type TempStorage } from '../../../test/kit/index.ts'
import { saveBars } from '../../../trading/index.ts'
import { createWindowResolver } from '../_window.ts'
import type { ResearchRequest } from '../_types.ts'

const REPO = resolve(import.meta.dirname, '../../..')
let t: TempStorage
beforeAll(async () => {
  t = await tempStorage('ktrdr-window-')
  await t.storage.strategies.setItem('regime_momentum.yaml', await readFile(join(REPO, 'examples/strategies/regime_momentum.yaml'), 'utf8'))
  await t.storage.strategies.setItem('broken.yaml', 'name: broken\ntraining_data: 42\n')
})
afterAll(() => t?.cleanup())

const request = (over: Partial<ResearchRequest> = {}): ResearchRequest => ({
  brief: null,
  strategy: 'regime_momentum',
  model: null,
  bypass_gates: false,
  constraints: null,
  training: { start_date: null, end_date: null, epochs: 1 },
  backtest: { start_date: null, end_date: null },
  ...over,
})
/** Hourly bars from 2024-01-01 00:00 UTC, every hour for `days` days. */
const series = (days: number) =>
  seriesFromCloses(
    Array.from({ length: days * 24 }, (_, i) => 1.1 + 0.01 * Math.sin(i / 10)),
    { symbol: 'EURUSD', timeframe: '1h', start: Date.UTC(2024, 0, 1) },
  )

describe('createWindowResolver', () => {
  it('splits the data at trainFraction; the backtest starts the day after training ends', async () => {
    // 100 days: 0.75 of 2,399 h is 74 days 23.25 h after 2024-01-01.
    await saveBars(t.storage.data, series(100))
    const resolveWindow = createWindowResolver(t.storage, 0.75)
    expect(await resolveWindow('regime_momentum', request())).toEqual({
      symbol: 'EURUSD',
      timeframe: '1h',
      train: { start: null, end: '2024-03-15' },
      backtest: { start: '2024-03-16', end: null },
    })
    // Dates the request gives win; none needs the data.
    expect(
      await resolveWindow(
        'regime_momentum',
        request({
          training: { start_date: null, end_date: '2024-02-01', epochs: 1 },
          backtest: { start_date: '2024-02-10', end_date: null },
        }),
      ),
    ).toMatchObject({ train: { end: '2024-02-01' }, backtest: { start: '2024-02-10' } })
  })

  it('reads a rewritten data file again (its extent is kept per version of the file)', async () => {
    await saveBars(t.storage.data, series(100))
    const resolveWindow = createWindowResolver(t.storage, 0.5)
    // 100 days, last bar 2024-04-09 23:00: half of 2,399 h is 49 days 23.5 h.
    expect((await resolveWindow('regime_momentum', request())).train.end).toBe('2024-02-19')
    await saveBars(t.storage.data, series(200))
    expect((await resolveWindow('regime_momentum', request())).train.end).toBe('2024-04-09')
    await t.storage.data.removeItem('EURUSD_1h.csv')
    await expect(resolveWindow('regime_momentum', request())).rejects.toMatchObject({ code: 'DATA_NOT_FOUND' })
  })

  it('takes the market design names without reading the strategy back; a named strategy is validated', async () => {
    await saveBars(t.storage.data, series(100))
    const resolveWindow = createWindowResolver(t.storage, 0.75)
    expect(await resolveWindow('broken', request(), { symbol: 'EURUSD', timeframe: '1h' })).toMatchObject({
      symbol: 'EURUSD',
      train: { end: '2024-03-15' },
    })
    await expect(resolveWindow('broken', request())).rejects.toMatchObject({
      code: 'STRATEGY_INVALID',
      message: expect.stringMatching(/^Strategy broken is invalid: nn_inputs: not a v3 strategy/),
    })
  })
})
