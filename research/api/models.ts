import { defineEventHandler, getRouterParam } from 'h3'
import { z } from 'zod'
import { KtrdrError } from '../../trading/index.ts'
import {
  defineGatewayRoutes,
  pageOf,
  pageQueryShape,
  parseStoreKey,
  readQuery,
  sendStoredFile,
  storedSize,
} from '../../runtime/gateway/index.ts'
import {
  catalogIndex,
  modelNotFound,
  readModelCatalog,
  readModelFiles,
  resolveVersionParam,
  summariseVersion,
  versionFolders,
  wantOf,
  wantQuery,
} from './_models.ts'

const listQuery = z.object({
  strategy: z.string().max(200).optional().describe("Only this strategy's models"),
  ...pageQueryShape({ limit: 1000, maxLimit: 10_000 }),
})
const showQuery = z.object(wantQuery)

/** Models written by train, read only: list, one version's metadata and metrics, its files. */
export default defineGatewayRoutes((router, ctx) => {
  const models = ctx.storage.models

  router.get(
    '/api/v1/models',
    {
      doc: {
        summary: 'Trained models per strategy: symbol sets with their latest version and tags, every version with its test metrics',
        query: listQuery,
        response: 'list',
      },
    },
    defineEventHandler(async (event) => {
      const q = readQuery(event, listQuery)
      const only = q.strategy ? parseStoreKey(q.strategy, 'Model') : null
      const keys = await models.getKeys(only ? `${only}:` : undefined)
      const strategies = [...new Set(keys.map((k) => k.split(':')[0]).filter((s) => s && !s.startsWith('.')))].sort()
      const data = []
      for (const strategy of strategies) {
        const own = keys.filter((k) => k.startsWith(`${strategy}:`))
        const folders = versionFolders(own, strategy)
        if (folders.size === 0) continue
        const catalog = await readModelCatalog(models, strategy, own)
        const index = catalogIndex(catalog)
        const versions = await Promise.all([...folders].map(([v, complete]) => summariseVersion(models, strategy, v, complete, index)))
        versions.sort((a, b) => a.timeframe.localeCompare(b.timeframe) || b.number - a.number)
        // Per timeframe, the newest version of any set (what `<tf>_latest` meant before symbol sets).
        const latest: Record<string, string> = {}
        for (const [tf, numbers] of Object.entries(catalog.versions)) latest[tf] = `${tf}_v${Math.max(...numbers)}`
        const sets = catalog.sets.map((e) => ({
          timeframe: e.timeframe,
          symbols: e.symbols,
          set: e.set,
          latest: e.latest ? `${e.timeframe}_v${e.latest.version}` : null,
          tags: Object.fromEntries(Object.values(e.tags).map((t) => [t.tag, `${e.timeframe}_v${t.version}`])),
        }))
        data.push({ strategy, latest, sets, versions })
      }
      return { success: true, ...pageOf(data, q) }
    }),
  )

  router.get(
    '/api/v1/models/:strategy/:version',
    {
      doc: {
        summary: "One model version's metadata, test metrics, tags and files",
        description:
          ':version is `1h_v3`, or a reference resolved like a backtest resolves it: `1h_latest` (the newest model of the symbol set holding ?symbol=), `@production`, `1h@production`.',
        query: showQuery,
      },
    },
    defineEventHandler(async (event) => {
      const strategy = parseStoreKey(getRouterParam(event, 'strategy') ?? '', 'Model')
      const asked = parseStoreKey(getRouterParam(event, 'version') ?? '', 'Model')
      const version = await resolveVersionParam(models, strategy, asked, wantOf(readQuery(event, showQuery)))
      const keys = await models.getKeys(`${strategy}:`)
      const files = keys
        .filter((k) => k.startsWith(`${strategy}:${version}:`))
        .map((k) => k.split(':').pop()!)
        .filter((f) => !f.startsWith('.'))
      if (files.length === 0) throw modelNotFound(strategy, asked)
      const { metadata, metrics } = await readModelFiles(models, strategy, version)
      const index = catalogIndex(await readModelCatalog(models, strategy, keys))
      const summary = await summariseVersion(models, strategy, version, metadata !== null, index)
      const history = Array.isArray(metrics?.history) ? (metrics.history as Array<Record<string, unknown>>) : []
      const sizes = await Promise.all(
        files.sort().map(async (f) => ({
          name: f,
          size: await storedSize(ctx.storage, 'models', `${strategy}/${version}/${f}`),
          url: `/api/v1/models/${encodeURIComponent(strategy)}/${version}/${encodeURIComponent(f)}`,
        })),
      )
      return {
        success: true,
        data: {
          key: `${strategy}/${version}`,
          strategy,
          version,
          complete: metadata !== null,
          latest: summary.latest,
          tags: summary.tags,
          symbols: summary.symbols,
          set: summary.set,
          metadata,
          metrics: metrics && {
            test_metrics: metrics.test_metrics ?? null,
            best_epoch: metrics.best_epoch ?? null,
            early_stopped: metrics.early_stopped ?? null,
            val_majority_baseline: metrics.val_majority_baseline ?? null,
            warnings: metrics.warnings ?? [],
            epochs: history.length,
            final_epoch: history[history.length - 1] ?? null,
          },
          files: sizes,
        },
      }
    }),
  )

  router.get(
    '/api/v1/models/:strategy/:version/:file',
    defineEventHandler(async (event) => {
      const strategy = parseStoreKey(getRouterParam(event, 'strategy') ?? '', 'Model')
      const version = await resolveVersionParam(
        models,
        strategy,
        parseStoreKey(getRouterParam(event, 'version') ?? '', 'Model'),
        wantOf(readQuery(event, showQuery)),
      )
      const file = parseStoreKey(getRouterParam(event, 'file') ?? '', 'Model')
      const sent = await sendStoredFile(event, ctx.storage, 'models', `${strategy}/${version}/${file}`)
      if (sent !== undefined) return sent
      throw new KtrdrError({
        code: 'MODEL_FILE_NOT_FOUND',
        message: `No file "${file}" in model ${strategy}/${version}: see its files with GET /api/v1/models/${strategy}/${version}`,
      })
    }),
  )
})
