import type { Storage } from 'unstorage'
import { createSeries, loadBars, saveBars, sortedUnique, type OhlcvSeries } from '../../../trading/index.ts'
import { isKtrdrError } from '../../../runtime/protocol/index.ts'
import type { IbBars } from './ib-client.ts'

/**
 * The whole stored file (never a range: merging must see every row, docs/domain.md#bar-storage); undefined
 * when none. Strict: a file the store would refuse to save back (bad rows) fails the fetch
 * before any request is spent, with the store's message naming the lines to fix.
 */
export async function loadStored(
  storage: Storage,
  symbol: string,
  timeframe: string,
  signal?: AbortSignal,
): Promise<OhlcvSeries | undefined> {
  try {
    return await loadBars(storage, { symbol, timeframe, strict: true, signal })
  } catch (error) {
    if (isKtrdrError(error) && error.code === 'DATA_NOT_FOUND') return undefined
    throw error
  }
}

/**
 * Bars fetched so far, kept per segment until saved. Rows outside their segment's range are
 * dropped (IB rounds durations up and we ask for whole days), so a segment never overwrites a
 * neighbour's rows with a partial bar.
 */
export class FetchedBars {
  private chunks: OhlcvSeries[] = []
  rows = 0
  constructor(
    readonly symbol: string,
    readonly timeframe: string,
  ) {}

  /** Rows IB sent that broke an OHLC invariant and were repaired (high/low widened to open/close). */
  repaired = 0

  add(bars: IbBars, start: number, end: number): number {
    const keep = (i: number) => {
      const t = bars.time[i]
      return (
        t >= start &&
        t < end &&
        Number.isFinite(bars.open[i]) &&
        Number.isFinite(bars.high[i]) &&
        Number.isFinite(bars.low[i]) &&
        Number.isFinite(bars.close[i])
      )
    }
    let n = 0
    for (let i = 0; i < bars.time.length; i++) if (keep(i)) n++
    if (!n) return 0
    const s = createSeries(this.symbol, this.timeframe, n)
    let k = 0
    for (let i = 0; i < bars.time.length; i++) {
      if (!keep(i)) continue
      const o = bars.open[i],
        c = bars.close[i]
      // The store refuses a file with high < max(open, close): one odd bar must not cost the save.
      const hi = Math.max(bars.high[i], o, c),
        lo = Math.min(bars.low[i], o, c)
      if (hi !== bars.high[i] || lo !== bars.low[i]) this.repaired++
      s.time[k] = bars.time[i]
      s.open[k] = o
      s.high[k] = hi
      s.low[k] = lo
      s.close[k] = c
      s.volume[k] = Number.isFinite(bars.volume[i]) ? bars.volume[i] : -1
      k++
    }
    this.chunks.push(s)
    this.rows += n
    return n
  }

  get pending(): boolean {
    return this.chunks.length > 0
  }

  /** Concatenation of the unsaved chunks (mergeBars sorts and drops duplicates, last wins). */
  take(): OhlcvSeries | undefined {
    if (!this.chunks.length) return undefined
    const total = this.chunks.reduce((a, c) => a + c.length, 0)
    const out = createSeries(this.symbol, this.timeframe, total)
    let k = 0
    for (const c of this.chunks) {
      out.time.set(c.time, k)
      out.open.set(c.open, k)
      out.high.set(c.high, k)
      out.low.set(c.low, k)
      out.close.set(c.close, k)
      out.volume.set(c.volume, k)
      k += c.length
    }
    this.chunks = []
    return out
  }
}

/**
 * Merges fetched rows into the file as it is on storage now (re-read, so rows another writer
 * saved meanwhile survive), new rows winning; the fs driver writes tmp+rename. A synthetic
 * dataset is replaced rather than mixed with real bars.
 */
export async function saveFetched(storage: Storage, fresh: OhlcvSeries, options: { replace: boolean }): Promise<number> {
  const { bars } = await saveBars(storage, sortedUnique(fresh), {
    merge: !options.replace,
    meta: { source: 'ib', updated_at: new Date().toISOString() },
  })
  return bars
}
