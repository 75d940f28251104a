import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { defineEventHandler, getQuery, getRouterParam } from 'h3'
import { KtrdrError } from '../../trading/index.ts'
import { defineGatewayRoutes, type GatewayRouteContext } from '../../runtime/gateway/index.ts'
import { resolveLocalPath } from '../../storage/index.ts'
import { CHART_POINTS, decimateTogether, pick } from './_decimate.ts'
import { createEquityParser, drawdownPct, type EquityColumns } from './_equity.ts'
import { backtestRuns, completedResult, intQuery, type BacktestRunRef } from './_runs.ts'

/** One series for a chart, columnar: times in epoch seconds (what lightweight-charts takes). */
interface Series {
  time: number[]
  value: number[]
}

export interface ChartTrade {
  id: number
  side: 'LONG' | 'SHORT'
  entry_time: number
  exit_time: number
  entry_price: number
  exit_price: number
  net_pnl: number
  return_pct: number
}

export interface BacktestChart {
  success: true
  operation_id: string
  symbol: string
  run: number
  name: string | null
  runs: Array<{ symbol: string; run: number; name: string | null }>
  /** Rows of equity.csv, and how many points the series below kept (≤ max_points, the same times for all three). */
  bars: number
  points: number
  max_points: number
  decimated: boolean
  equity: Series
  drawdown: Series
  price: Series
  /** Deepest drawdown over every bar (not the kept points), in percent of the running peak. */
  max_drawdown_pct: number
  initial_equity: number | null
  final_equity: number | null
  trades: ChartTrade[]
  trade_count: number
  /** More trades than max_trades: `trades` holds the first max_trades. */
  trades_truncated: boolean
}

/** Reads equity.csv from disk in chunks (fs mounts) or through the driver, into columns. */
async function readEquity(ctx: GatewayRouteContext, key: string): Promise<EquityColumns> {
  const parser = createEquityParser(key)
  const local = resolveLocalPath(ctx.storage.options, 'results', key)
  if (local) {
    try {
      for await (const chunk of createReadStream(local, { encoding: 'utf8', highWaterMark: 1 << 20 })) parser.push(chunk as string)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notStored(key)
      throw error
    }
    return parser.end()
  }
  const raw = await ctx.storage.results.getItemRaw(key)
  if (raw === null || raw === undefined) throw notStored(key)
  parser.push(typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8'))
  return parser.end()
}

function notStored(key: string) {
  return new KtrdrError({
    code: 'RESULT_NOT_FOUND',
    message: `${key} is not in the results mount (the backtest ran without storing it, or it was deleted)`,
  })
}

async function readTrades(ctx: GatewayRouteContext, key: string | null): Promise<ChartTrade[]> {
  if (!key) return []
  const raw = await ctx.storage.results.getItemRaw(key)
  if (raw === null || raw === undefined) throw notStored(key)
  let list: unknown
  try {
    list = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8'))
  } catch {
    list = null
  }
  if (!Array.isArray(list)) throw new KtrdrError({ code: 'RESULT_INVALID', message: `${key} is not a JSON array of trades` })
  return list.map((t: Record<string, any>, i) => ({
    id: Number(t.trade_id ?? i + 1),
    side: t.side === 'SHORT' ? 'SHORT' : 'LONG',
    entry_time: Date.parse(t.entry_time) / 1000,
    exit_time: Date.parse(t.exit_time) / 1000,
    entry_price: Number(t.entry_price),
    exit_price: Number(t.exit_price),
    net_pnl: Number(t.net_pnl),
    return_pct: Number(t.return_pct),
  }))
}

/**
 * Decimated series are kept per file (identified by its size and mtime, so a re-run attempt that
 * rewrote it is read again) and point count: a 1,000,000-row equity.csv takes ≈1 s to parse,
 * a page switching back and forth between runs should not pay that each time.
 */
const cache = new Map<string, Omit<BacktestChart, 'trades' | 'trade_count' | 'trades_truncated'>>()
const CACHE_ENTRIES = 16

async function fileSignature(ctx: GatewayRouteContext, key: string): Promise<string | null> {
  const local = resolveLocalPath(ctx.storage.options, 'results', key)
  if (!local) return null
  const s = await stat(local).catch(() => null)
  return s ? `${local}|${s.size}:${s.mtimeMs}` : null
}

/**
 * `GET /api/v1/backtests/:id/chart?symbol=&run=&max_points=2000&max_trades=5000`: what the
 * dashboard and `ktrdr report` draw for one run of a backtest: equity, drawdown and price
 * decimated server-side (min/max preserving, docs/decisions.md), and the trades to mark.
 */
export default defineGatewayRoutes((router, ctx) => {
  router.get(
    '/api/v1/backtests/:id/chart',
    defineEventHandler(async (event): Promise<BacktestChart> => {
      const { op } = await ctx.operations.require(getRouterParam(event, 'id', { decode: true })!)
      const result = completedResult(op, 'backtest')
      const q = getQuery(event)
      const maxPoints = intQuery(q.max_points, 'max_points', CHART_POINTS.default, CHART_POINTS.min, CHART_POINTS.max)
      const maxTrades = intQuery(q.max_trades, 'max_trades', 5000, 0, 100_000)
      const runs = backtestRuns(result)
      const symbol = typeof q.symbol === 'string' && q.symbol ? q.symbol : runs[0]?.symbol
      const runIndex = intQuery(q.run, 'run', runs.find((r) => r.symbol === symbol)?.run ?? 0, 0, 1_000_000)
      const run: BacktestRunRef | undefined = runs.find((r) => r.symbol === symbol && r.run === runIndex)
      if (!run) {
        throw new KtrdrError({
          code: 'RUN_NOT_FOUND',
          message: `Backtest ${op.operation_id} has no run ${runIndex} for symbol ${JSON.stringify(symbol)}: it has ${runs.map((r) => `${r.symbol}/${r.run}`).join(', ')}`,
          details: { runs: runs.map((r) => ({ symbol: r.symbol, run: r.run })) },
        })
      }
      if (!run.equity_curve_key) {
        throw new KtrdrError({
          code: 'RESULT_NOT_FOUND',
          message: `Backtest ${op.operation_id} ran without storing its equity curve (${run.symbol}/${run.run}): run it again with the equity curve stored`,
        })
      }
      const signature = await fileSignature(ctx, run.equity_curve_key)
      const cacheKey = signature ? `${signature}|${maxPoints}` : null
      let series = cacheKey ? cache.get(cacheKey) : undefined
      if (!series) {
        const eq = await readEquity(ctx, run.equity_curve_key)
        const dd = drawdownPct(eq.equity)
        let deepest = 0
        for (let i = 0; i < dd.length; i++) if (dd[i] < deepest) deepest = dd[i]
        // One time axis for the three curves (the page scrolls them together), each keeping its own extremes.
        const idx = decimateTogether([eq.equity, dd, eq.price], maxPoints)
        const time = pick(eq.time, idx)
        const keep = (values: Float64Array): Series => ({ time, value: pick(values, idx) })
        const equity = keep(eq.equity)
        series = {
          success: true,
          operation_id: op.operation_id,
          symbol: run.symbol,
          run: run.run,
          name: run.name,
          runs: runs.map(({ symbol: s, run: r, name }) => ({ symbol: s, run: r, name })),
          bars: eq.length,
          points: equity.time.length,
          max_points: maxPoints,
          decimated: eq.length > maxPoints,
          equity,
          drawdown: keep(dd),
          price: keep(eq.price),
          max_drawdown_pct: -deepest,
          initial_equity: eq.length ? eq.equity[0] : null,
          final_equity: eq.length ? eq.equity[eq.length - 1] : null,
        }
        if (cacheKey) {
          cache.set(cacheKey, series)
          if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!)
        }
      }
      const trades = await readTrades(ctx, run.trades_key)
      return {
        ...series,
        trades: trades.slice(0, maxTrades),
        trade_count: trades.length,
        trades_truncated: trades.length > maxTrades,
      }
    }),
  )
})
