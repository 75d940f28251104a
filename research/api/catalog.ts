import { defineEventHandler } from 'h3'
import { TIMEFRAMES, TIMEFRAME_MINUTES, listDatasets } from '../../trading/index.ts'
import { defineGatewayRoutes, pageOf, pageParams } from '../../runtime/gateway/index.ts'

const UNITS: Array<[number, string]> = [
  [10080, 'Week'],
  [1440, 'Day'],
  [60, 'Hour'],
  [1, 'Minute'],
]

/** `15m` → {name: '15 Minutes', description: '15-minute bars'}; from the minutes, so a new timeframe needs no text here. */
function describeTimeframe(id: string, minutes: number) {
  const [size, unit] = UNITS.find(([m]) => minutes % m === 0)!
  const n = minutes / size
  return {
    id,
    name: `${n} ${unit}${n === 1 ? '' : 's'}`,
    description: `${n}-${unit.toLowerCase()} bars (open time = bar start, UTC)`,
    minutes,
  }
}

/** What the cluster can work with: the supported timeframes and the symbols with stored data (docs/domain.md#rest-api). */
export default defineGatewayRoutes((router, ctx) => {
  router.get(
    '/api/v1/timeframes',
    defineEventHandler((event) => ({
      success: true,
      ...pageOf(
        TIMEFRAMES.map((tf) => describeTimeframe(tf, TIMEFRAME_MINUTES[tf])),
        pageParams(event, { limit: 1000, maxLimit: 10_000 }),
      ),
    })),
  )

  router.get(
    '/api/v1/symbols',
    defineEventHandler(async (event) => {
      const bySymbol = new Map<string, Awaited<ReturnType<typeof listDatasets>>>()
      for (const d of await listDatasets(ctx.storage.data)) bySymbol.set(d.symbol, [...(bySymbol.get(d.symbol) ?? []), d])
      const data = [...bySymbol].map(([symbol, sets]) => {
        const meta = sets.find((s) => s.meta)?.meta ?? {}
        const text = (v: unknown) => (typeof v === 'string' && v ? v : null)
        return {
          symbol,
          name: text(meta.name) ?? symbol,
          exchange: text(meta.exchange),
          // Generated markets say what they imitate (preset forex/equity/crypto); IB data says its secType.
          type: text(meta.type) ?? text(meta.asset_type) ?? text(meta.preset),
          currency: text(meta.currency),
          synthetic: sets.some((s) => s.synthetic),
          timeframes: sets.map((s) => s.timeframe),
          datasets: sets.map((s) => ({ timeframe: s.timeframe, start: s.start, end: s.end, bars: s.bars, synthetic: s.synthetic })),
        }
      })
      return { success: true, ...pageOf(data, pageParams(event, { limit: 1000, maxLimit: 10_000 })) }
    }),
  )
})
