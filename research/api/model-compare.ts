import { defineEventHandler } from 'h3'
import { z } from 'zod'
import { KtrdrError } from '../../trading/index.ts'
import { defineGatewayRoutes, readQuery } from '../../runtime/gateway/index.ts'
import { COMPARE_MAX as MAX, COMPARE_MIN as MIN, compareList, compareRows, trainingHistory, type CompareRow } from './_compare.ts'
import { modelAsTrainingResult } from './_model-compare.ts'
import {
  catalogIndex,
  readModelCatalog,
  readModelFiles,
  resolveVersionParam,
  splitModelRef,
  summariseVersion,
  wantOf,
  wantQuery,
} from './_models.ts'

export interface ModelComparison {
  success: true
  kind: 'model'
  models: Array<{
    key: string
    /** A short name for a column: the version and its tags. */
    label: string
    strategy: string
    version: string
    symbols: string[]
    tags: string[]
    latest: boolean
    created_at: string | null
    history: Record<string, unknown[]> | null
  }>
  rows: CompareRow[]
}

const compareQuery = z.object({
  models: z.string().max(4000).describe('2–6 models, comma-separated: `strategy/1h_v3`, `strategy/1h_latest`, `strategy@production`'),
  ...wantQuery,
})

/**
 * `GET /api/v1/models/compare?models=a,b`: 2–6 model versions side by side (`ktrdr model compare`),
 * the rows of a training comparison read from each version's metadata and metrics, each test figure
 * beside its baseline, the best column marked.
 */
export default defineGatewayRoutes((router, ctx) => {
  const models = ctx.storage.models
  router.get(
    '/api/v1/models/compare',
    { doc: { summary: 'Compare 2–6 model versions: test metrics beside their baselines, training curves', query: compareQuery } },
    defineEventHandler(async (event): Promise<ModelComparison> => {
      const q = readQuery(event, compareQuery)
      const refs = compareList(q.models)
      const want = wantOf(q)
      const resolved = await Promise.all(
        refs.map(async (ref) => {
          const { strategy, version } = splitModelRef(ref)
          return { strategy, version: await resolveVersionParam(models, strategy, version, want) }
        }),
      )
      const keys = [...new Set(resolved.map((r) => `${r.strategy}/${r.version}`))]
      if (keys.length < MIN || keys.length > MAX)
        throw new KtrdrError({
          code: 'BAD_REQUEST',
          message: `models must name ${MIN} to ${MAX} different model versions, comma-separated (${refs.length} given, ${keys.length} different versions)`,
          details: { field: 'models', count: keys.length },
        })
      const columns = await Promise.all(
        keys.map(async (key) => {
          const [strategy, version] = key.split('/')
          const { metadata, metrics } = await readModelFiles(models, strategy, version)
          if (!metadata)
            throw new KtrdrError({
              code: 'MODEL_NOT_FOUND',
              message: `Model ${key} is incomplete (no metadata.json): its training did not finish saving`,
              details: { model: key },
            })
          const index = catalogIndex(await readModelCatalog(models, strategy))
          const summary = await summariseVersion(models, strategy, version, true, index)
          return { key, strategy, version, summary, result: modelAsTrainingResult(key, metadata, metrics) }
        }),
      )
      const tags = columns.map((c) => [...(c.summary.latest ? ['latest'] : []), ...c.summary.tags].join(', ') || null)
      const rows: CompareRow[] = [
        ...(tags.some(Boolean) ? [{ key: 'tags', label: 'Tags', format: 'text' as const, values: tags }] : []),
        { key: 'created_at', label: 'Trained', format: 'text', values: columns.map((c) => c.summary.created_at) },
        ...compareRows(
          'training',
          columns.map((c) => c.result),
        ),
      ]
      return {
        success: true,
        kind: 'model',
        models: columns.map((c) => ({
          key: c.key,
          label: `${c.strategy} ${c.version}${c.summary.tags.length ? ` (${c.summary.tags.join(', ')})` : ''}`,
          strategy: c.strategy,
          version: c.version,
          symbols: c.summary.symbols,
          tags: c.summary.tags,
          latest: c.summary.latest,
          created_at: c.summary.created_at,
          history: trainingHistory(c.result),
        })),
        rows,
      }
    }),
  )
})
