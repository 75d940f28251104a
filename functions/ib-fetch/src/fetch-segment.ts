import { IbRequestError } from './errors.ts'
import type { ResolvedContract } from './contract.ts'
import type { IbFetchDeps } from './fetch.ts'
import type { IbClient } from './ib-client.ts'
import type { Segment } from './segments.ts'
import type { FetchedBars } from './store.ts'
import { BAR_SIZE, durationString, formatIbDateTime } from './timeframes.ts'

/** Pacing violations and reconnects do not use up a segment's attempts, but are bounded too. */
const MAX_PACING_RETRIES = 6
const MAX_RECONNECTS = 5
const RECONNECT_DELAY_MS = 5000

/** One segment with the retry policy of docs/domain.md#ib-fetch-flow; false when it failed for good and was skipped. */
export async function fetchSegment(
  rc: ResolvedContract,
  timeframe: string,
  seg: Segment,
  fetched: FetchedBars,
  ensureClient: () => Promise<IbClient>,
  dropClient: () => void,
  deps: IbFetchDeps,
  onPacingWait: (ms: number, reason: string) => void,
): Promise<boolean> {
  const { clock, signal, pacing } = deps
  const request = {
    contract: rc.contract,
    endDateTime: formatIbDateTime(seg.end),
    durationStr: durationString(seg.start, seg.end),
    barSize: BAR_SIZE[timeframe],
    whatToShow: rc.whatToShow,
    useRTH: true,
  }
  const requestKey = `${rc.key}|${request.endDateTime}|${request.durationStr}|${request.barSize}|${request.whatToShow}`
  let attempts = 0
  let pacingRetries = 0
  let reconnects = 0
  for (;;) {
    signal.throwIfAborted()
    let client: IbClient
    try {
      client = await ensureClient()
    } catch (error) {
      if (signal.aborted || ++reconnects > MAX_RECONNECTS) throw error
      deps.logger?.warn(`Reconnect to IB failed (${(error as Error).message}); retrying`)
      await clock.sleep(RECONNECT_DELAY_MS, signal)
      continue
    }
    await pacing.acquire({ contractKey: rc.key, requestKey }, signal, (ms, reason) => {
      deps.logger?.debug(`Pacing: waiting ${Math.round(ms / 1000)} s (${reason})`)
      // Only long waits are worth telling the operator about (the 2 s spacing is routine).
      if (ms >= 10_000) onPacingWait(ms, reason)
    })
    try {
      const bars = await client.historicalData(request, signal)
      fetched.add(bars, seg.start, seg.end)
      return true
    } catch (error) {
      if (!(error instanceof IbRequestError)) throw error
      switch (error.kind) {
        case 'fatal':
          throw error
        case 'no_data':
          return true
        case 'pacing':
          if (++pacingRetries > MAX_PACING_RETRIES) return false
          deps.logger?.warn(`IB pacing violation on ${iso(seg.start)} → ${iso(seg.end)}: backing off`)
          await pacing.reportViolation()
          continue
        case 'connectivity':
          if (++reconnects > MAX_RECONNECTS) return false
          deps.logger?.warn('IB lost connectivity to its servers (1100): waiting for it to come back')
          try {
            await client.waitForConnectivity(deps.connectivityTimeoutMs, signal)
          } catch (waitError) {
            if (signal.aborted) throw waitError
            dropClient()
          }
          continue
        case 'disconnected':
          if (++reconnects > MAX_RECONNECTS) return false
          deps.logger?.warn('Connection to IB lost: reconnecting')
          dropClient()
          await clock.sleep(RECONNECT_DELAY_MS, signal)
          continue
        default:
          if (++attempts >= deps.maxSegmentAttempts) {
            deps.logger?.warn(`Segment ${iso(seg.start)} → ${iso(seg.end)} failed ${attempts} times, skipping: ${error.message}`)
            return false
          }
          await clock.sleep(Math.min(2 ** attempts + 0.5, 10) * 1000, signal)
      }
    }
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}
