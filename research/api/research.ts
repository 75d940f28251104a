import { defineEventHandler, getRouterParam, setResponseStatus } from 'h3'
import { z } from 'zod'
import { defineGatewayRoutes, listPage, pageOf, pageQueryShape, readJsonBody, readQuery } from '../../runtime/gateway/index.ts'
import { EXPERIMENT_ID_RE, KtrdrError, listExperimentIds, readExperiment, readHypotheses } from '../../trading/index.ts'
import { createResearchLoops, type ResearchLoops } from '../loop/loop.ts'
import { resolveResearchOptions } from '../loop/options.ts'
import { parseResearchRequest } from '../loop/_request.ts'
import type { LoopRecord, LoopStatus } from '../loop/_types.ts'
import { statusFilter, statusListQuery } from './_status-query.ts'

const STATUSES: LoopStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled']
const HYPOTHESIS_STATUSES = ['untested', 'supported', 'refuted'] as const

// Queries of the list routes (validated with them; the OpenAPI document shows them).
const loopsQuery = statusListQuery(STATUSES)
// A bound like invoke's wait_seconds (queue.maxWaitSeconds), so a client cannot hold a request forever.
const loopQuery = (maxWaitSeconds: number) =>
  z.object({
    wait_seconds: z.coerce
      .number({ error: `wait_seconds must be a number of seconds between 0 and ${maxWaitSeconds}` })
      .min(0, { error: `wait_seconds must be a number of seconds between 0 and ${maxWaitSeconds}` })
      .max(maxWaitSeconds, { error: `wait_seconds must be a number of seconds between 0 and ${maxWaitSeconds}` })
      .default(0)
      .describe('Answer once the loop has ended (completed, failed or cancelled), or after this many seconds'),
    changed_after: z
      .string()
      .refine((v) => !Number.isNaN(Date.parse(v)), { error: 'changed_after must be a timestamp (the updated_at of a loop)' })
      .optional()
      .describe('With wait_seconds: answer as soon as the loop is saved with a later updated_at (its next phase), or has ended'),
  })
const experimentsQuery = z.object(pageQueryShape({ limit: 50, maxLimit: 1000 }))
const hypothesesQuery = z.object({
  status: z.enum(HYPOTHESIS_STATUSES, { error: `status must be one of ${HYPOTHESIS_STATUSES.join(', ')}` }).optional(),
  ...pageQueryShape({ limit: 1000, maxLimit: 10_000 }),
})

/**
 * The research loop (docs/architecture.md#research-loop): POST /api/v1/research and the original
 * agent API (trigger, status, cancel, budget), plus read-only experiment memory. The loop engine
 * starts with the gateway (resuming live loops) and stops with it.
 */
export default defineGatewayRoutes((router, ctx) => {
  const loops: Promise<ResearchLoops> = createResearchLoops(ctx, resolveResearchOptions())
  loops.catch((error: Error) => ctx.logger.error(`Research loops could not start: ${error.message}`))
  ctx.hooks.on('gateway:close', () => void loops.then((l) => l.close()).catch(() => {}))

  const view = async (engine: ResearchLoops, loop: LoopRecord) => {
    const { phase_started_at: _started, ...rest } = loop
    return { ...rest, parent_operation_id: null, progress: await engine.progress(loop) }
  }

  async function start(body: unknown) {
    const engine = await loops
    const loop = await engine.start(parseResearchRequest(body, engine.options))
    return { engine, loop }
  }

  router.post(
    '/api/v1/research',
    defineEventHandler(async (event) => {
      const { engine, loop } = await start(await readJsonBody(event, ctx.options.maxBodyBytes))
      setResponseStatus(event, 202)
      return { success: true, ...(await view(engine, loop)) }
    }),
  )

  router.get(
    '/api/v1/research',
    { doc: { summary: 'Research loops, newest first', tag: 'research', query: loopsQuery, response: 'list' } },
    defineEventHandler(async (event) => {
      const engine = await loops
      const q = readQuery(event, loopsQuery)
      const status = statusFilter(q.status, STATUSES)
      const page = { limit: q.limit, offset: q.offset }
      const { items, total } = await engine.list({ status, ...page })
      return { success: true, ...listPage(await Promise.all(items.map((l) => view(engine, l))), total, page) }
    }),
  )

  const oneLoopQuery = loopQuery(ctx.options.queue.maxWaitSeconds)
  router.get(
    '/api/v1/research/:id',
    { doc: { summary: 'One research loop; with wait_seconds, answered when it ends', tag: 'research', query: oneLoopQuery } },
    defineEventHandler(async (event) => {
      const engine = await loops
      const id = getRouterParam(event, 'id', { decode: true })!
      const { wait_seconds: wait, changed_after: after } = readQuery(event, oneLoopQuery)
      if (!wait) return { success: true, data: await view(engine, await engine.get(id)) }
      // Pushed at the loop's last save, like invoke's wait_seconds: a client gone away stops the wait.
      const abort = new AbortController()
      const res = event.node.res
      res.once('close', () => {
        if (!res.writableFinished) abort.abort()
      })
      const since = after === undefined ? undefined : Date.parse(after)
      return { success: true, data: await view(engine, await engine.wait(id, wait * 1000, { since, signal: abort.signal })) }
    }),
  )

  const cancel = async (event: Parameters<Parameters<typeof defineEventHandler>[0]>[0]) => {
    const engine = await loops
    const body = await readJsonBody<{ reason?: unknown }>(event, ctx.options.maxBodyBytes).catch(() => ({}) as { reason?: unknown })
    const reason = typeof body.reason === 'string' && body.reason ? body.reason : 'Cancelled by request'
    const { loop, cancelled } = await engine.cancel(getRouterParam(event, 'id', { decode: true })!, reason)
    return {
      success: true,
      operation_id: loop.operation_id,
      status: loop.status,
      cancelled_children: cancelled,
      data: await view(engine, loop),
    }
  }
  router.delete('/api/v1/research/:id', defineEventHandler(cancel))

  // The original agent API (docs/domain.md#agent-research-loop).
  router.post(
    '/api/v1/agent/trigger',
    defineEventHandler(async (event) => {
      const { loop } = await start(await readJsonBody(event, ctx.options.maxBodyBytes))
      setResponseStatus(event, 202)
      return {
        success: true,
        operation_id: loop.operation_id,
        status: 'started',
        message: loop.request.brief
          ? 'Research loop started: designing from the brief'
          : `Research loop started on strategy ${loop.strategy_name}`,
        experiment_id: loop.experiment_id,
      }
    }),
  )
  router.get(
    '/api/v1/agent/status',
    defineEventHandler(async () => {
      const engine = await loops
      const active = await engine.list({ status: ['pending', 'running'], limit: 100, offset: 0 })
      const recent = await engine.list({ status: ['completed', 'failed', 'cancelled'], limit: 5, offset: 0 })
      return {
        success: true,
        status: active.total > 0 ? 'active' : 'idle',
        active: await Promise.all(active.items.map((l) => view(engine, l))),
        recent: recent.items.map((l) => ({
          operation_id: l.operation_id,
          status: l.status,
          experiment_id: l.experiment_id,
          strategy_name: l.strategy_name,
          completed_at: l.completed_at,
        })),
        budget: await engine.budget(),
      }
    }),
  )
  router.delete('/api/v1/agent/cancel/:id', defineEventHandler(cancel))
  router.get(
    '/api/v1/agent/budget',
    defineEventHandler(async () => ({ success: true, ...(await (await loops).budget()) })),
  )

  // Experiment memory, read-only (the loop writes it; design reads it).
  router.get(
    '/api/v1/experiments',
    { doc: { summary: 'Experiment records of the research loops', tag: 'research', query: experimentsQuery, response: 'list' } },
    defineEventHandler(async (event) => {
      const { limit, offset } = readQuery(event, experimentsQuery)
      const ids = await listExperimentIds(ctx.storage.memory)
      const records = await Promise.all(ids.slice(offset, offset + limit).map((id) => readExperiment(ctx.storage.memory, id)))
      return {
        success: true,
        ...listPage(
          records
            .filter((e) => !!e)
            .map((e) => ({
              id: e!.id,
              created_at: e!.created_at,
              status: e!.status,
              strategy: e!.strategy.name,
              verdict: e!.assessment?.verdict ?? null,
              metrics: e!.metrics,
              parent_operation_id: e!.operations.parent ?? null,
            })),
          ids.length,
          { limit, offset },
        ),
      }
    }),
  )
  router.get(
    '/api/v1/experiments/:id',
    defineEventHandler(async (event) => {
      const id = getRouterParam(event, 'id', { decode: true })!
      const record = EXPERIMENT_ID_RE.test(id) ? await readExperiment(ctx.storage.memory, id) : null
      if (!record)
        throw new KtrdrError({
          code: 'EXPERIMENT_NOT_FOUND',
          message: `Experiment "${id}" does not exist: list them with GET /api/v1/experiments`,
          details: { field: 'id' },
        })
      return { success: true, data: record }
    }),
  )
  router.get(
    '/api/v1/hypotheses',
    { doc: { summary: 'Hypotheses of the research memory (H_###)', tag: 'research', query: hypothesesQuery, response: 'list' } },
    defineEventHandler(async (event) => {
      const { status, ...page } = readQuery(event, hypothesesQuery)
      const all = await readHypotheses(ctx.storage.memory)
      return { success: true, ...pageOf(status ? all.filter((h) => h.status === status) : all, page) }
    }),
  )
})
