import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, createRouter, defineEventHandler, readBody, setResponseStatus, toNodeListener, createError } from 'h3'
import type { HeartbeatRequest, HostEvent, HostLogEvent, WorkerRegistration } from '../../protocol/index.ts'

/**
 * A stand-in for the gateway's worker endpoints, recording what a host sends. `mode` switches it
 * between answering, failing (500) and having forgotten every worker (404).
 */
export async function startFakeGateway() {
  const state = {
    mode: 'ok' as 'ok' | 'down' | 'forget',
    registrations: [] as WorkerRegistration[],
    heartbeats: [] as HeartbeatRequest[],
    // Log batches too: the host sends them on the same route.
    events: [] as Array<HostEvent | HostLogEvent>,
    /** Each pushed batch as it arrived (types and operation ids), duplicates included. */
    batches: [] as Array<Array<{ type: string; operation_id: string }>>,
    known: new Set<string>(),
    cancel: [] as string[],
  }
  const listeners = new Set<() => void>()
  const notify = () => listeners.forEach((l) => l())
  const router = createRouter()
  const guard = (id?: string) => {
    if (state.mode === 'down') throw createError({ statusCode: 500, message: 'down' })
    if (id !== undefined && (state.mode === 'forget' || !state.known.has(id)))
      throw createError({ statusCode: 404, message: 'unknown worker' })
  }
  router.post(
    '/api/v1/workers/register',
    defineEventHandler(async (event) => {
      guard()
      const body = (await readBody(event)) as WorkerRegistration
      state.registrations.push(body)
      state.known.add(body.worker_id)
      notify()
      return { ...body, status: 'AVAILABLE', heartbeat_interval_ms: 2000, stop_operations: [] }
    }),
  )
  router.post(
    '/api/v1/workers/:id/heartbeat',
    defineEventHandler(async (event) => {
      guard(event.context.params!.id)
      state.heartbeats.push((await readBody(event)) as HeartbeatRequest)
      notify()
      return { ok: true, cancel: state.cancel.splice(0) }
    }),
  )
  router.post(
    '/api/v1/workers/:id/events',
    defineEventHandler(async (event) => {
      guard(event.context.params!.id)
      const { events } = (await readBody(event)) as { events: Array<HostEvent | HostLogEvent> }
      state.batches.push(events.map((e) => ({ type: e.type, operation_id: e.operation_id })))
      const last = state.events.at(-1)?.seq ?? 0
      for (const e of events) if (e.seq > last) state.events.push(e)
      notify()
      setResponseStatus(event, 200)
      return { acked_seq: events.at(-1)!.seq }
    }),
  )
  const app = createApp()
  app.use(router)
  const server: Server = createServer(toNodeListener(app))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    state,
    /** Resolves when `predicate` holds, re-checked on every request the fake receives (bounded). */
    until(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
      if (predicate()) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error('fake gateway: condition not met in time'))
        }, timeoutMs)
        const check = () => {
          if (predicate()) {
            clearTimeout(timer)
            listeners.delete(check)
            resolve()
          }
        }
        listeners.add(check)
      })
    },
    eventsFor: (operationId: string) => state.events.filter((e) => e.operation_id === operationId),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
