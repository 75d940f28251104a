import { defineEventHandler, getQuery, getRouterParam } from 'h3'
import { KtrdrError } from '../../trading/index.ts'
import { defineGatewayRoutes, pageOf, pageParams, listStoreKeys, parseStoreKey, sendStoredFile } from '../../runtime/gateway/index.ts'

const PREFIX = '/api/v1/results'
const urlPath = (key: string) => key.split('/').map(encodeURIComponent).join('/')

/** Where to read more, for curl users: a backtest's files, a training's model and performance. */
function links(id: string, result: unknown): Record<string, string> {
  const r = (result && typeof result === 'object' ? result : {}) as Record<string, unknown>
  const out: Record<string, string> = {}
  if (typeof r.results_prefix === 'string') out.files = `${PREFIX}/${urlPath(r.results_prefix)}`
  if (typeof r.model_key === 'string') {
    out.model = `/api/v1/models/${urlPath(r.model_key)}`
    out.performance = `/api/v1/trainings/${encodeURIComponent(id)}/performance`
  }
  return out
}

/**
 * What researchers read after an operation: its result (docs/domain.md#rest-api `/operations/:id/results`) and, read
 * only, the files functions wrote to the `results` mount (trades.json, equity.csv, summary.json).
 * API token like every other route; the cluster-token `/storage` route stays for hosts only.
 */
export default defineGatewayRoutes((router, ctx) => {
  router.get(
    '/api/v1/operations/:id/results',
    defineEventHandler(async (event) => {
      const { op } = await ctx.operations.require(getRouterParam(event, 'id', { decode: true })!)
      if (op.status !== 'completed' && op.status !== 'failed') {
        throw new KtrdrError({
          code: op.status === 'cancelled' ? 'OPERATION_CANCELLED' : 'OPERATION_NOT_FINISHED',
          message: `Operation ${op.operation_id} is ${op.status}: results exist once it is completed or failed (follow it with GET /api/v1/operations/${op.operation_id}/events)`,
        })
      }
      return {
        // A failed operation has no results to speak of: success says whether it produced them.
        success: op.status === 'completed',
        operation_id: op.operation_id,
        operation_type: op.operation_type,
        status: op.status,
        results: op.result ?? null,
        error: op.error,
        links: links(op.operation_id, op.result),
      }
    }),
  )

  /** A file → its bytes; a folder → its files `{key, url}` in the list envelope; `?prefix=` on the root lists too. */
  const read = defineEventHandler(async (event) => {
    const path = event.path.split('?')[0]
    const key = parseStoreKey(path.slice(PREFIX.length), 'Results')
    if (key) {
      const sent = await sendStoredFile(event, ctx.storage, 'results', key)
      if (sent !== undefined) return sent
    }
    const q = getQuery(event)
    const prefix = key || (typeof q.prefix === 'string' ? parseStoreKey(q.prefix, 'Results') : '')
    const keys = await listStoreKeys(ctx.storage, 'results', prefix)
    if (keys.length === 0 && key) {
      throw new KtrdrError({
        code: 'RESULT_NOT_FOUND',
        message: `No result file or folder "${key}" in the results mount: backtests write backtests/<operation_id>/…; see the keys of an operation with GET ${PREFIX}/backtests/<operation_id>`,
      })
    }
    const files = keys.map((k) => ({ key: k, url: `${PREFIX}/${urlPath(k)}` }))
    return { success: true, prefix, ...pageOf(files, pageParams(event, { limit: 1000, maxLimit: 10_000 })) }
  })
  router.get(PREFIX, read)
  router.get(`${PREFIX}/**`, read)
})
