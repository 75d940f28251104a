import { defineEventHandler, getQuery, getRouterParam, setResponseStatus, type H3Event } from 'h3'
import { defineGatewayRoutes, readBodyBytes, readJsonBody } from '../../runtime/gateway/index.ts'
import {
  assertSymbol,
  assertTimeframe,
  datasetKey,
  importCsvToStore,
  KtrdrError,
  storeSyntheticSeries,
  type SyntheticPreset,
} from '../../trading/index.ts'

/**
 * Writing market data from outside the cluster, for callers without a shell on the machine that
 * holds the data mount (`ktrdr data import|generate --url`).
 *
 * `PUT /api/v1/data/:symbol/:timeframe` with a vendor CSV as the body: what `ktrdr data import`
 * does on the machine that holds the data mount, for a cluster the caller has no shell on
 * (`ktrdr data import --url`). Same validation (shared `importCsvToStore`): unreadable rows skipped
 * and listed by line, rows breaking high/low bounds refuse the file with 422 naming the lines,
 * nothing written then. `?merge=true` merges into the stored bars (new rows win), else the file
 * replaces them. 201 when the dataset is new, 200 when it replaced or merged one.
 *
 * `POST /api/v1/data/:symbol/:timeframe/generate {bars, start, end, preset, structure, seed, force}`:
 * a seeded SYNTHETIC set, generated and marked on the gateway like `ktrdr data generate` does
 * locally (a CSV upload could not carry the synthetic marker). Like it, it replaces a stored
 * dataset only with `force: true`, else 409 `DATA_EXISTS` and nothing written.
 */
export default defineGatewayRoutes((router, ctx) => {
  // Read-merge-write of one dataset must not interleave with another upload of the same one, or
  // the later write would drop the rows the earlier one merged in.
  const inFlight = new Map<string, Promise<unknown>>()
  function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = inFlight.get(key) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(task)
    inFlight.set(key, next)
    return next.finally(() => {
      if (inFlight.get(key) === next) inFlight.delete(key)
    })
  }

  router.put(
    '/api/v1/data/:symbol/:timeframe',
    // A year of 1m bars is ≈ 30 MB of CSV: the bundle-sized cap, not the JSON one.
    { body: 'upload' },
    defineEventHandler(async (event) => {
      const { symbol, timeframe } = dataset(event)
      const merge = flag(getQuery(event).merge, 'merge')
      const text = (await readBodyBytes(event, ctx.options.maxBundleBytes)).toString('utf8')
      const key = datasetKey(symbol, timeframe)
      const { existed, stored } = await oneAtATime(key, async () => {
        const existed = await ctx.storage.data.hasItem(key)
        return { existed, stored: await importCsvToStore(ctx.storage.data, text, { symbol, timeframe, merge }) }
      })
      setResponseStatus(event, existed ? 200 : 201)
      return {
        success: true,
        data: { ...stored, merged: merge && existed },
        warnings: stored.skipped.map((i) => `line ${i.line}: ${i.message} (row skipped)`),
      }
    }),
  )

  router.post(
    '/api/v1/data/:symbol/:timeframe/generate',
    defineEventHandler(async (event) => {
      const { symbol, timeframe } = dataset(event)
      const body = await readJsonBody(event, ctx.options.maxBodyBytes)
      const known = ['bars', 'start', 'end', 'preset', 'structure', 'seed', 'force']
      for (const key of Object.keys(body))
        if (!known.includes(key))
          throw new KtrdrError({
            code: 'BAD_REQUEST',
            message: `${key} is not a field of a generate request (known: ${known.join(', ')})`,
            details: { field: key },
          })
      for (const key of ['bars', 'seed'] as const)
        if (body[key] !== undefined && !Number.isInteger(body[key]))
          throw new KtrdrError({ code: 'BAD_REQUEST', message: `${key} must be an integer`, details: { field: key } })
      for (const key of ['start', 'end', 'preset', 'structure'] as const)
        if (body[key] !== undefined && typeof body[key] !== 'string')
          throw new KtrdrError({ code: 'BAD_REQUEST', message: `${key} must be a string`, details: { field: key } })
      if (body.force !== undefined && typeof body.force !== 'boolean')
        throw new KtrdrError({ code: 'BAD_REQUEST', message: 'force must be true or false', details: { field: 'force' } })
      const key = datasetKey(symbol, timeframe)
      const { existed, stored } = await oneAtATime(key, async () => {
        const existed = await ctx.storage.data.hasItem(key)
        const stored = await storeSyntheticSeries(
          ctx.storage.data,
          {
            symbol,
            timeframe,
            bars: body.bars as number | undefined,
            start: body.start as string | undefined,
            end: body.end as string | undefined,
            preset: body.preset as SyntheticPreset | undefined,
            structure: body.structure as 'none' | 'trend_regimes' | undefined,
            seed: body.seed as number | undefined,
          },
          { force: body.force === true },
        )
        return { existed, stored }
      })
      setResponseStatus(event, existed ? 200 : 201)
      return { success: true, data: { ...stored, synthetic: true } }
    }),
  )
})

function dataset(event: H3Event): { symbol: string; timeframe: string } {
  return {
    symbol: assertSymbol(decodeURIComponent(getRouterParam(event, 'symbol') ?? '')),
    timeframe: assertTimeframe(getRouterParam(event, 'timeframe')),
  }
}

function flag(value: unknown, name: string): boolean {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false
  if (value === 'true' || value === '1') return true
  throw new KtrdrError({
    code: 'BAD_REQUEST',
    message: `${name} must be true or false, got ${JSON.stringify(value)}`,
    details: { field: name },
  })
}
