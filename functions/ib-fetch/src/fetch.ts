import type { Storage } from 'unstorage'
import type { ConsolaInstance } from 'consola'
import { resolveRange } from '../../../trading/index.ts'
import type { ProgressUpdate } from '../../../runtime/function/index.ts'
import type { Clock } from './clock.ts'
import { resolveContract, type ResolvedContract } from './contract.ts'
import { IbRequestError } from './errors.ts'
import { fetchSegment, iso } from './fetch-segment.ts'
import { analyzeGaps, type Gap } from './gaps.ts'
import type { IbClient } from './ib-client.ts'
import type { IbFetchInput, IbFetchResult } from './input.ts'
import type { HeadTimestampCache } from './head-cache.ts'
import type { PacingGate } from './pacing.ts'
import { segmentGaps, type Segment } from './segments.ts'
import { FetchedBars, loadStored, saveFetched } from './store.ts'
import { MAX_SPAN_MS, assertIbTimeframe, floorToBar, INTERVAL_MS, lastClosedBarEnd } from './timeframes.ts'

export interface IbFetchDeps {
  storage: Storage
  clock: Clock
  pacing: PacingGate
  /** Head timestamps fetched within the last hour on this host (docs/domain.md#ib-pacing); absent = always ask IB. */
  headCache?: HeadTimestampCache
  /** Opens a connection (with a free client id); called again after a disconnect. */
  connect(signal: AbortSignal): Promise<IbClient>
  signal: AbortSignal
  progress(update: ProgressUpdate): void
  logger?: Pick<ConsolaInstance, 'info' | 'warn' | 'debug'>
  saveIntervalMs: number
  saveEverySegments: number
  maxSegmentAttempts: number
  connectivityTimeoutMs: number
}

const TAIL_DAYS = 30
const DAY = 86_400_000

/** The flow of docs/domain.md#ib-fetch-flow with progress bands 0–5 validate, 5–15 load, 15–30 plan, 30–90 fetch, 90–100 save. */
export async function runIbFetch(input: IbFetchInput, deps: IbFetchDeps): Promise<IbFetchResult> {
  const { clock, signal, storage } = deps
  const timeframe = assertIbTimeframe(input.timeframe)
  const mode = input.mode ?? 'tail'
  const rc = resolveContract(input.symbol, input.instrument_type ?? undefined)
  const req = resolveRange(input.start_date ?? undefined, input.end_date ?? undefined)
  deps.progress({ percentage: 0, current_step: `Connecting to IB for ${rc.symbol} ${timeframe}` })

  let client: IbClient | undefined
  const ensureClient = async () => (client?.connected ? client : (client = await deps.connect(signal)))
  try {
    await ensureClient()
    deps.progress({ percentage: 5, current_step: `Loading stored ${rc.symbol}_${timeframe}` })
    const stored = await loadStored(storage, rc.symbol, timeframe, signal)
    const existing = stored?.synthetic ? undefined : stored
    deps.progress({ percentage: 15, current_step: 'Resolving the date range' })

    const now = clock.now()
    let end = Math.min(req.endMs ?? now, lastClosedBarEnd(now, timeframe))
    let start: number
    let head: number | undefined
    const needHead = mode !== 'tail' || req.startMs !== undefined
    if (needHead) head = await headTimestamp(rc, ensureClient, deps)
    if (mode === 'tail') {
      // KTRDR started a tail at now − 30 days (docs/domain.md#ib-fetch-flow); a store that fell further behind would keep a hole
      // between its last bar and that start forever, so the tail starts after the last stored bar then.
      const recent = lastClosedBarEnd(now - TAIL_DAYS * DAY, timeframe)
      const after = existing?.length ? existing.time[existing.length - 1] + INTERVAL_MS[timeframe] : recent
      start = req.startMs ?? Math.min(recent, after)
    } else start = req.startMs ?? head ?? now - MAX_SPAN_MS[timeframe]
    // Backfill extends history backwards: by default it stops where the stored data begins.
    if (mode === 'backfill' && req.endMs === undefined && existing?.length) end = Math.min(end, existing.time[0])
    if (head !== undefined && start < head) start = head
    // Whole bars only: a head timestamp of 14:30 must still let the 00:00 daily bar (or the 14:00
    // hourly bar) in, or the leading gap it leaves would be asked for again on every run.
    start = floorToBar(start, timeframe)
    deps.progress({ percentage: 20, current_step: 'Analysing gaps' })

    const gaps: Gap[] =
      start < end
        ? analyzeGaps({
            times: existing?.time ?? [],
            start,
            end,
            timeframe,
            mode,
            instrumentType: rc.instrumentType,
            headMs: head === undefined ? undefined : floorToBar(head, timeframe),
          })
        : []
    const segments = segmentGaps(gaps, timeframe, mode)
    deps.progress({
      percentage: 25,
      current_step: `${gaps.length} gap(s), ${segments.length} segment(s) to fetch`,
      context: { gaps: gaps.length, segments: segments.length },
    })

    const fetched = new FetchedBars(rc.symbol, timeframe)
    const failedSegments = new Set<Segment>()
    let lastSave = clock.now()
    let sinceSave = 0
    let replace = Boolean(stored?.synthetic)
    let saveError: unknown
    const save = async () => {
      const fresh = fetched.take()
      if (!fresh) return
      await saveFetched(storage, fresh, { replace })
      replace = false
      lastSave = clock.now()
      sinceSave = 0
    }

    try {
      for (let i = 0; i < segments.length; i++) {
        signal.throwIfAborted()
        const seg = segments[i]
        deps.progress({
          percentage: 30 + (60 * i) / segments.length,
          current_step: `Fetching ${iso(seg.start)} → ${iso(seg.end)} (segment ${i + 1}/${segments.length})`,
          context: { segment: i + 1, segments: segments.length, start: iso(seg.start), end: iso(seg.end), rows_downloaded: fetched.rows },
        })
        const onPacingWait = (ms: number, reason: string) =>
          deps.progress({
            percentage: 30 + (60 * i) / segments.length,
            current_step: `Waiting ${Math.ceil(ms / 1000)} s for IB pacing (${reason}) before ${iso(seg.start)} → ${iso(seg.end)}`,
            context: {
              segment: i + 1,
              segments: segments.length,
              start: iso(seg.start),
              end: iso(seg.end),
              rows_downloaded: fetched.rows,
              pacing_wait_ms: ms,
            },
          })
        const ok = await fetchSegment(
          rc,
          timeframe,
          seg,
          fetched,
          ensureClient,
          () => {
            client?.close()
            client = undefined
          },
          deps,
          onPacingWait,
        )
        if (!ok) failedSegments.add(seg)
        sinceSave++
        if (fetched.pending && (sinceSave >= deps.saveEverySegments || clock.now() - lastSave >= deps.saveIntervalMs)) await save()
      }
      deps.progress({ percentage: 90, current_step: `Merging ${fetched.rows} row(s) into ${rc.symbol}_${timeframe}` })
    } finally {
      // Cancelled, crashed on a fatal error or done: what was fetched is kept either way.
      try {
        await save()
      } catch (error) {
        saveError = error
      }
    }
    if (saveError) throw saveError
    if (fetched.repaired) deps.logger?.warn(`${fetched.repaired} bar(s) from IB had high/low inside open/close and were widened to fit`)
    deps.progress({ percentage: 100, current_step: `Saved ${fetched.rows} new row(s)` })

    const failedGaps = gaps.filter((g) => [...failedSegments].some((s) => s.start >= g.start && s.end <= g.end)).length
    return {
      symbol: rc.symbol,
      timeframe,
      mode,
      rows_downloaded: fetched.rows,
      segments: segments.length,
      segments_failed: failedSegments.size,
      gaps_filled: gaps.length - failedGaps,
      range: { start: iso(start), end: iso(Math.max(start, end)) },
    }
  } finally {
    client?.close()
  }
}

async function headTimestamp(rc: ResolvedContract, ensureClient: () => Promise<IbClient>, deps: IbFetchDeps): Promise<number | undefined> {
  const cacheKey = `${rc.key}|${rc.whatToShow}`
  const cached = await deps.headCache?.get(cacheKey)
  if (cached !== undefined) return cached ?? undefined
  await deps.pacing.acquire({ contractKey: rc.key, requestKey: `head|${cacheKey}` }, deps.signal)
  try {
    const head = await (await ensureClient()).headTimestamp(rc.contract, rc.whatToShow, true, deps.signal)
    await deps.headCache?.set(cacheKey, head ?? null)
    return head
  } catch (error) {
    if (error instanceof IbRequestError && error.kind === 'fatal') throw error
    if (error instanceof IbRequestError) {
      // Without a head timestamp the range falls back to IB's max span (docs/domain.md#ib-fetch-flow).
      deps.logger?.warn(`No head timestamp for ${rc.symbol}: ${error.message}`)
      return undefined
    }
    throw error
  }
}
