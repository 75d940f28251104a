import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createKtrdrStorage, type KtrdrStorage } from '../../../storage/index.ts'
import type { ProgressUpdate } from '../../../runtime/function/index.ts'
import { createVirtualClock } from '../src/clock.ts'
import { runIbFetch, type IbFetchDeps } from '../src/fetch.ts'
import { connectIb } from '../src/ib-client.ts'
import type { IbFetchInput } from '../src/input.ts'
import { createPacingGate, type PacingLimits } from '../src/pacing.ts'
import { createTwsSimulator, type TwsSimulator, type TwsSimulatorOptions } from './tws-sim/server.ts'

export const NOW = Date.UTC(2026, 10, 27, 12) // a Friday, markets open
export const HOUR = 3_600_000
export const DAY = 24 * HOUR

export interface Harness {
  clock: ReturnType<typeof createVirtualClock>
  sim: TwsSimulator
  storage: KtrdrStorage
  dir: string
  pacingPath: string
  fetch(
    input: Partial<IbFetchInput> & Pick<IbFetchInput, 'symbol' | 'timeframe'>,
    overrides?: Partial<IbFetchDeps> & { clientIds?: number[]; limits?: Partial<PacingLimits>; requestTimeoutMs?: number; port?: number },
  ): ReturnType<typeof runIbFetch>
  progress: ProgressUpdate[]
  close(): Promise<void>
}

export async function createHarness(options: Partial<TwsSimulatorOptions> = {}): Promise<Harness> {
  const clock = createVirtualClock(NOW)
  const sim = await createTwsSimulator({
    clock,
    series: {
      EUR: { seed: 7, head: Date.UTC(2024, 0, 1), type: 'CASH' },
      AAPL: { seed: 11, head: Date.UTC(2020, 0, 2), type: 'STK' },
    },
    ...options,
  })
  const dir = await mkdtemp(join(tmpdir(), 'ktrdr-ib-fetch-test-'))
  const storage = await createKtrdrStorage({ root: join(dir, 'store') })
  const pacingPath = join(dir, 'pacing.json')
  const progress: ProgressUpdate[] = []
  return {
    clock,
    sim,
    storage,
    dir,
    pacingPath,
    progress,
    fetch(input, overrides = {}) {
      const { clientIds, limits, requestTimeoutMs, port, ...deps } = overrides
      const pacing = createPacingGate({ path: pacingPath, clock, limits })
      return runIbFetch({ mode: 'tail', ...input } as IbFetchInput, {
        storage: storage.data,
        clock,
        pacing,
        connect: (signal) =>
          connectIb(
            {
              host: '127.0.0.1',
              port: port ?? sim.port,
              clientIds: clientIds ?? [111, 112, 113],
              connectTimeoutMs: 5000,
              requestTimeoutMs: requestTimeoutMs ?? 5000,
            },
            signal,
          ),
        signal: new AbortController().signal,
        progress: (u) => progress.push(u),
        saveIntervalMs: 30_000,
        saveEverySegments: 10,
        maxSegmentAttempts: 3,
        connectivityTimeoutMs: 5000,
        ...deps,
      })
    },
    async close() {
      await sim.close()
      await storage.dispose()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** [start, end) a historical request covered, from its endDateTime and duration. */
export function requestedRange(r: { endDateTime: string; durationStr: string }): { start: number; end: number } {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})$/.exec(r.endDateTime)!
  const end = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
  const d = /^(\d+) ([DY])$/.exec(r.durationStr)!
  return { start: end - Number(d[1]) * (d[2] === 'D' ? DAY : 365 * DAY), end }
}

/** Checks the simulator's request log against IB's limits and ours; returns the broken rules. */
export function pacingBreaches(
  requests: Array<{ at: number; symbol: string; endDateTime: string; durationStr: string; barSize: string }>,
): string[] {
  const out: string[] = []
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]
    if (i > 0 && r.at - requests[i - 1].at < 2000) out.push(`#${i} only ${r.at - requests[i - 1].at} ms after the previous request`)
    const inWindow = requests.filter((q) => q.at > r.at - 600_000 && q.at <= r.at).length
    if (inWindow > 60) out.push(`#${i}: ${inWindow} requests in 10 minutes`)
    const burst = requests.filter((q) => q.symbol === r.symbol && q.at > r.at - 2000 && q.at <= r.at).length
    if (burst > 6) out.push(`#${i}: ${burst} requests for ${r.symbol} in 2 s`)
    const twin = requests
      .slice(0, i)
      .find(
        (q) =>
          q.endDateTime === r.endDateTime &&
          q.durationStr === r.durationStr &&
          q.barSize === r.barSize &&
          q.symbol === r.symbol &&
          r.at - q.at < 15_000,
      )
    if (twin) out.push(`#${i}: identical request ${r.at - twin.at} ms after the previous one`)
  }
  return out
}
