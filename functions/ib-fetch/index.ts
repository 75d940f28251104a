import { defineFunction } from '../../runtime/function/index.ts'
import { systemClock, type Clock } from './src/clock.ts'
import { resolveIbFetchConfig, type IbFetchConfig } from './src/config.ts'
import { runIbFetch } from './src/fetch.ts'
import { connectIb } from './src/ib-client.ts'
import { ibFetchInput, type IbFetchInput, type IbFetchResult } from './src/input.ts'
import { createPacingGate } from './src/pacing.ts'
import { createHeadTimestampCache } from './src/head-cache.ts'

export type { IbFetchInput, IbFetchResult } from './src/input.ts'
export type { IbFetchConfig } from './src/config.ts'

/**
 * Test seam: the function reads its IB settings from the host environment; tests and the
 * benchmark swap in a virtual clock and explicit settings without touching process.env.
 */
export const ibFetchOverrides: { clock?: Clock; config?: IbFetchConfig } = {}

/**
 * ib-fetch: downloads the bars missing from `<SYMBOL>_<tf>.csv` from IB Gateway/TWS over the
 * TWS API, within IB's pacing rules (shared by every fetch on the host), and merges them into
 * the whole stored file. Runs only on hosts that advertise the `ib` capability.
 */
export default defineFunction<IbFetchInput, IbFetchResult>({
  name: 'ib-fetch',
  description: 'Download missing historical bars for a symbol/timeframe from Interactive Brokers into the data store',
  operation_type: 'data_load',
  input: ibFetchInput,
  placement: { requires: { ib: true } },
  storage: { data: 'write' },
  // IB Gateway/TWS address and client ids, as the host operator set them (KTRDR_IB_* settings come through the host's list).
  env: ['IB_HOST', 'IB_PORT', 'IB_CLIENT_ID'],
  timeout_seconds: 6 * 3600,
  // A failed fetch keeps what it saved; the scheduler may run it again and it resumes.
  max_attempts: 2,
  async run(input, ctx) {
    const config = resolveIbFetchConfig(ibFetchOverrides.config)
    const clock = ibFetchOverrides.clock ?? systemClock
    const pacing = createPacingGate({ path: config.pacingPath, clock, limits: config.pacing })
    return runIbFetch(input, {
      storage: ctx.storage.data,
      clock,
      pacing,
      headCache: createHeadTimestampCache({ path: config.headCachePath, clock }),
      connect: (signal) => connectIb(config, signal),
      signal: ctx.signal,
      progress: (u) => ctx.progress(u),
      logger: ctx.logger,
      saveIntervalMs: config.saveIntervalMs,
      saveEverySegments: config.saveEverySegments,
      maxSegmentAttempts: config.maxSegmentAttempts,
      connectivityTimeoutMs: config.connectivityTimeoutMs,
    })
  },
})
