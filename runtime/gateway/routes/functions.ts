import { defineEventHandler, getQuery, getRequestHeader, getRouterParam, setResponseStatus, type H3Event } from 'h3'
import type { AliasRoute, WorkerRecord } from '../../protocol/index.ts'
import { KtrdrError } from '../../protocol/index.ts'
import { readJsonBody } from '../_http.ts'
import { defineGatewayRoutes, type GatewayRouteContext } from '../_routes.ts'
import { pageOf, pageParams } from '../_list.ts'

function parseRoutes(body: Record<string, unknown>): AliasRoute[] {
  if (typeof body.version === 'number') return [{ version: body.version, weight: 100 }]
  if (Array.isArray(body.routes))
    return body.routes.map((r: unknown, i) => {
      if (r === null || typeof r !== 'object' || Array.isArray(r))
        throw new KtrdrError({
          code: 'BAD_REQUEST',
          message: `routes[${i}] must be an object {"version": N, "weight": W}, got ${r === null ? 'null' : Array.isArray(r) ? 'a list' : typeof r}`,
        })
      return { version: Number((r as AliasRoute).version), weight: Number((r as AliasRoute).weight ?? 1) }
    })
  throw new KtrdrError({
    code: 'BAD_REQUEST',
    message: 'Body must be {"version": N} or {"routes": [{"version": N, "weight": W}, …]}',
  })
}

/** Which hosts have each version's bundle unpacked (from the worker registry's warm_bundles). */
function warmHosts(ctx: GatewayRouteContext, shas: Set<string>) {
  const workers = ctx.workers as { all(): Array<{ record: WorkerRecord }> } | undefined
  const out: Array<{ worker_id: string; status: string; sha256: string[] }> = []
  for (const { record } of workers?.all() ?? []) {
    const warm = (record.metadata.warm_bundles ?? []).filter((sha) => shas.has(sha))
    if (warm.length > 0) out.push({ worker_id: record.worker_id, status: record.status, sha256: warm })
  }
  return out
}

/** Bundles that queued, dispatching or running operations need: never collected. */
function liveShas(ctx: GatewayRouteContext): Set<string> {
  return new Set(Array.from(ctx.operations.liveOperations(), (s) => s.op.function.sha256))
}

export default defineGatewayRoutes((router, ctx) => {
  const { maxBundleBytes: maxBundle, maxBodyBytes: maxBody } = ctx.options
  const name = (event: H3Event) => getRouterParam(event, 'name', { decode: true }) ?? ''

  router.post(
    '/api/v1/functions/:name/versions',
    { body: 'upload' },
    defineEventHandler(async (event) => {
      const query = getQuery(event)
      const sourceCommit = (query.source_commit as string | undefined) ?? getRequestHeader(event, 'x-ktrdr-source-commit') ?? undefined
      // Streamed: the registry hashes the archive on its way to disk and counts it against the cap.
      const version = await ctx.functions.publish(event.node.req, { name: name(event), source_commit: sourceCommit, maxBytes: maxBundle })
      setResponseStatus(event, version.created ? 201 : 200)
      return version
    }),
  )

  router.get(
    '/api/v1/functions',
    { doc: { summary: 'Deployed functions with their latest version and aliases', response: 'list' } },
    defineEventHandler(async (event) => pageOf(await ctx.functions.listFunctions(), pageParams(event, { limit: 1000, maxLimit: 10_000 }))),
  )

  router.get(
    '/api/v1/functions/:name',
    defineEventHandler(async (event) => {
      const fn = await ctx.functions.getFunction(name(event))
      if (!fn)
        throw new KtrdrError({
          code: 'FUNCTION_NOT_FOUND',
          message: `No function "${name(event)}" has been published: deploy it with \`ktrdr fn deploy ${name(event)}\``,
        })
      const hosts = warmHosts(ctx, new Set(fn.versions.map((v) => v.sha256)))
      return {
        ...fn,
        versions: fn.versions.map((v) => ({ ...v, warm_hosts: hosts.filter((h) => h.sha256.includes(v.sha256)).map((h) => h.worker_id) })),
        warm_hosts: hosts,
      }
    }),
  )

  router.get(
    '/api/v1/functions/:name/versions',
    defineEventHandler(async (event) => {
      const fn = await ctx.functions.getFunction(name(event))
      if (!fn)
        throw new KtrdrError({
          code: 'FUNCTION_NOT_FOUND',
          message: `No function "${name(event)}" has been published`,
        })
      return pageOf(fn.versions, pageParams(event, { limit: 1000, maxLimit: 10_000 }))
    }),
  )

  router.put(
    '/api/v1/functions/:name/aliases/:alias',
    defineEventHandler(async (event) => {
      const body = await readJsonBody(event, maxBody)
      return ctx.functions.setAlias(name(event), getRouterParam(event, 'alias', { decode: true }) ?? '', parseRoutes(body))
    }),
  )

  router.post(
    '/api/v1/functions/:name/rollback',
    defineEventHandler(async (event) => ctx.functions.rollback(name(event))),
  )

  router.post(
    '/api/v1/functions/gc',
    defineEventHandler(async (event) => {
      const body = await readJsonBody<{ keep_last?: number }>(event, maxBody)
      const keepLast = Number.isInteger(body.keep_last) && body.keep_last! >= 0 ? body.keep_last! : ctx.options.functionKeepLast
      const live = liveShas(ctx)
      const deleted = await ctx.functions.collectGarbage({ keepLast, isInUse: (sha) => live.has(sha) })
      return { deleted: deleted.map((v) => ({ name: v.name, version: v.version, sha256: v.sha256, size: v.size })), keep_last: keepLast }
    }),
  )
})
