import { defineEventHandler, getRouterParam, type H3Event } from 'h3'
import { z } from 'zod'
import { tagModelVersion, untagModelVersion } from '../../trading/index.ts'
import { defineGatewayRoutes, parseStoreKey, readQuery } from '../../runtime/gateway/index.ts'
import { resolveVersionParam, wantOf, wantQuery } from './_models.ts'

const tagQuery = z.object(wantQuery)

const tagRecord = z.object({
  tag: z.string(),
  strategy: z.string(),
  version: z.string().describe('`<tf>_v<N>`'),
  key: z.string(),
  timeframe: z.string(),
  symbols: z.array(z.string()).describe('The symbol set the tag is unique in'),
  updated_at: z.string(),
  previous: z.string().nullable().describe('The version the tag moved from, if it moved'),
})

/**
 * Tags pin a model so that a newer, worse one does not replace it where it matters
 * (`strategy@production` in a backtest). A tag names one version per strategy, timeframe and
 * symbol set: putting it on another version of the set moves it. API token, like the other
 * research routes; the model files themselves stay read-only.
 */
export default defineGatewayRoutes((router, ctx) => {
  const target = async (event: H3Event) => {
    const strategy = parseStoreKey(getRouterParam(event, 'strategy') ?? '', 'Model')
    const version = await resolveVersionParam(
      ctx.storage.models,
      strategy,
      parseStoreKey(getRouterParam(event, 'version') ?? '', 'Model'),
      wantOf(readQuery(event, tagQuery)),
    )
    return { strategy, version, tag: getRouterParam(event, 'tag', { decode: true }) ?? '' }
  }
  const shown = (strategy: string, r: Awaited<ReturnType<typeof tagModelVersion>>) => ({
    tag: r.tag,
    strategy,
    version: `${r.timeframe}_v${r.version}`,
    key: r.key,
    timeframe: r.timeframe,
    symbols: r.symbols,
    updated_at: r.updated_at,
    previous: r.previous ? `${r.timeframe}_v${r.previous.version}` : null,
  })

  router.put(
    '/api/v1/models/:strategy/:version/tags/:tag',
    {
      doc: {
        summary: 'Tag a model version (`ktrdr model promote`): moves the tag within its strategy, timeframe and symbol set',
        description:
          'No body. :version is `1h_v3` or a reference (`1h_latest` with ?symbol=). A backtest then names it `<strategy>@<tag>`. 400 MODEL_TAG_INVALID, 404 MODEL_NOT_FOUND naming what is wrong.',
        query: tagQuery,
        response: z.object({ success: z.literal(true), data: tagRecord }),
      },
    },
    defineEventHandler(async (event) => {
      const { strategy, version, tag } = await target(event)
      return { success: true, data: shown(strategy, await tagModelVersion(ctx.storage, `${strategy}/${version}`, tag)) }
    }),
  )

  router.delete(
    '/api/v1/models/:strategy/:version/tags/:tag',
    {
      doc: {
        summary: 'Remove a tag from the model version that carries it',
        description: '404 MODEL_TAG_NOT_FOUND when the version does not carry it, naming where the tag is.',
        query: tagQuery,
        response: z.object({ success: z.literal(true), data: tagRecord }),
      },
    },
    defineEventHandler(async (event) => {
      const { strategy, version, tag } = await target(event)
      return { success: true, data: shown(strategy, await untagModelVersion(ctx.storage, `${strategy}/${version}`, tag)) }
    }),
  )
})
