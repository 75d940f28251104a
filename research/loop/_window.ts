import type { Storage } from 'unstorage'
import { datasetKey, KtrdrError, parseOhlcvCsv, summarizeOhlcvCsv, validateStrategy } from '../../trading/index.ts'
import type { LoopRecord, ResearchRequest } from './_types.ts'

type DataWindow = NonNullable<LoopRecord['data_window']>
type Extent = { start: number; end: number } | null

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)

function bytes(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') return new TextEncoder().encode(value)
  return null
}

/**
 * A loop's symbol, timeframe and train / held-out backtest windows, from its strategy and the data.
 * The dataset's first and last bars are read once per version of its file (getMeta's mtime and
 * size; writes replace the file whole), not at every loop: reading the file is most of the cost
 * (a 1M-row CSV is ≈ 60 MB), and listing the whole data mount to find one key is not needed.
 */
export function createWindowResolver(storage: { strategies: Storage; data: Storage }, trainFraction: number) {
  const extents = new Map<string, { version: string; extent: Extent }>()

  async function extentOf(symbol: string, timeframe: string): Promise<Extent> {
    const key = datasetKey(symbol, timeframe)
    const meta = await storage.data.getMeta(key)
    const mtime = meta.mtime ? new Date(meta.mtime).getTime() : NaN
    const version = Number.isFinite(mtime) && typeof meta.size === 'number' ? `${mtime}:${meta.size}` : null
    const known = extents.get(key)
    if (version && known?.version === version) return known.extent
    const raw = bytes(await storage.data.getItemRaw(key))
    let extent: Extent = null
    if (raw) {
      const summary = summarizeOhlcvCsv(raw)
      if (summary) extent = summary.rows ? { start: summary.start, end: summary.end } : null
      else {
        const { series } = parseOhlcvCsv(raw, { symbol, timeframe, maxIssues: 0 })
        extent = series.length ? { start: series.time[0], end: series.time[series.length - 1] } : null
      }
    }
    if (version) extents.set(key, { version, extent })
    return extent
  }

  /** The strategy's market: from the strategies mount, validated (a strategy the request named). */
  async function marketOf(strategyName: string): Promise<{ symbol: string; timeframe: string }> {
    const source = await storage.strategies.getItem(`${strategyName}.yaml`)
    const v = validateStrategy(typeof source === 'string' ? source : String(source ?? ''))
    if (!v.strategy)
      throw new KtrdrError({
        code: 'STRATEGY_INVALID',
        message: `Strategy ${strategyName} is invalid: ${v.errors
          .slice(0, 3)
          .map((e) => `${e.path || '(file)'}: ${e.message}`)
          .join('; ')}`,
      })
    return { symbol: v.strategy.training_data.symbols[0], timeframe: v.strategy.training_data.timeframes[0] }
  }

  /**
   * `designed`: the market design's result names (design validated the strategy it wrote), so the
   * strategy is not read back and validated again; without it, the strategy in the mount is.
   */
  return async function resolveWindow(strategyName: string, req: ResearchRequest, designed?: unknown): Promise<DataWindow> {
    const d = designed as { symbol?: unknown; timeframe?: unknown } | undefined
    const { symbol, timeframe } =
      typeof d?.symbol === 'string' && typeof d.timeframe === 'string'
        ? { symbol: d.symbol, timeframe: d.timeframe }
        : await marketOf(strategyName)
    let trainEnd = req.training.end_date
    let btStart = req.backtest.start_date
    if (!trainEnd || !btStart) {
      const extent = await extentOf(symbol, timeframe)
      if (!extent)
        throw new KtrdrError({
          code: 'DATA_NOT_FOUND',
          message: `No ${symbol} ${timeframe} data to split into training and a held-out backtest: load or generate it first`,
        })
      const from = req.training.start_date ? Date.parse(req.training.start_date) : extent.start
      const cut = from + (extent.end - from) * trainFraction
      trainEnd ??= day(cut)
      btStart ??= day(Date.parse(`${trainEnd}T00:00:00Z`) + 86_400_000)
    }
    return {
      symbol,
      timeframe,
      train: { start: req.training.start_date, end: trainEnd },
      backtest: { start: btStart, end: req.backtest.end_date },
    }
  }
}
