import { defineEventHandler, getQuery, getRouterParam } from 'h3'
import { KtrdrError } from '../../trading/index.ts'
import { defineGatewayRoutes, pageOf, pageParams } from '../../runtime/gateway/index.ts'
import { assertSymbol, assertTimeframe, formatIsoSeconds, listDatasets, loadBars, readMeta, sliceSeries } from '../../trading/index.ts'

/** Cached market data (cache only; ib-fetch fills it). Synthetic sets say so in every response. */
export default defineGatewayRoutes((router, ctx) => {
  router.get(
    '/api/v1/data',
    defineEventHandler(async (event) => {
      const q = getQuery(event)
      // Checked like the path parameters: a filter no dataset can match is a 400, not an empty list.
      const given = (v: unknown) => (v === undefined || v === '' ? undefined : v)
      const symbol = given(q.symbol)
      const timeframe = given(q.timeframe)
      const datasets = await listDatasets(ctx.storage.data, {
        symbol: symbol === undefined ? undefined : assertSymbol(symbol),
        timeframe: timeframe === undefined ? undefined : assertTimeframe(timeframe),
      })
      const all = datasets.map(({ meta, ...d }) => ({
        ...d,
        ...(d.synthetic ? { generator: meta?.generator, seed: meta?.seed, preset: meta?.preset } : {}),
      }))
      return { success: true, ...pageOf(all, pageParams(event, { limit: 1000, maxLimit: 10_000 })) }
    }),
  )

  router.get(
    '/api/v1/data/:symbol/:timeframe',
    defineEventHandler(async (event) => {
      // decode: true leaves a malformed escape (%ff) as it is for assertSymbol to refuse, where decodeURIComponent threw (a 500).
      const symbol = assertSymbol(getRouterParam(event, 'symbol', { decode: true }) ?? '')
      const timeframe = assertTimeframe(getRouterParam(event, 'timeframe'))
      const q = getQuery(event)
      const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)
      let limit: number | undefined
      if (q.limit !== undefined && q.limit !== '') {
        limit = Number(q.limit)
        if (!Number.isInteger(limit) || limit < 1)
          throw new KtrdrError({
            code: 'DATA_INVALID_LIMIT',
            message: `limit must be a positive integer, got ${JSON.stringify(q.limit)}`,
          })
      }
      const full = await loadBars(ctx.storage.data, { symbol, timeframe, start: str(q.start_date), end: str(q.end_date) })
      // limit keeps the most recent bars, the ones a chart or a quick check wants.
      const s = limit !== undefined && full.length > limit ? sliceSeries(full, full.length - limit, full.length) : full
      const dates = new Array<string>(s.length)
      const ohlcv = new Array<number[]>(s.length)
      for (let i = 0; i < s.length; i++) {
        dates[i] = formatIsoSeconds(s.time[i])
        ohlcv[i] = [s.open[i], s.high[i], s.low[i], s.close[i], s.volume[i]]
      }
      const meta = s.synthetic ? await readMeta(ctx.storage.data, symbol, timeframe) : undefined
      return {
        success: true,
        data: {
          dates,
          ohlcv,
          points: null,
          metadata: {
            symbol,
            timeframe,
            start: dates[0] ?? null,
            end: dates[dates.length - 1] ?? null,
            points: s.length,
            synthetic: Boolean(s.synthetic),
            ...(meta ? { generator: meta.generator, seed: meta.seed, preset: meta.preset } : {}),
          },
        },
        error: null,
      }
    }),
  )
})
