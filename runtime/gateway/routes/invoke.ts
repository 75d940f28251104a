import { defineEventHandler, getRouterParam, setResponseHeader, setResponseStatus } from 'h3'
import { readJsonBody } from '../_http.ts'
import { checkInvokeRequest, invokeAnswerJson } from '../_invoke.ts'
import { invokeRequestSchema } from '../_invoke-schema.ts'
import { defineGatewayRoutes } from '../_routes.ts'
import { CLIENT_CHANNEL_PATH } from '../_client-channel.ts'

/** POST /api/v1/functions/:name/invoke — name, name@<version> or name@<alias>. */
export default defineGatewayRoutes((router, ctx) => {
  router.post(
    '/api/v1/functions/:name/invoke',
    {
      doc: {
        summary: 'Invoke a function: name, name@<version> or name@<alias>',
        description:
          '202 with the pending operation, or 200 with the finished one when it ends within wait_seconds. The input is checked against the function’s input schema (422 naming the field); see the per-function paths for each schema.',
        tag: 'function invocations',
        body: invokeRequestSchema(ctx.options.queue.maxWaitSeconds),
        examples: {
          echo: { input: { message: 'hello', steps: 3, delay_ms: 300 }, wait_seconds: 10 },
          queued: { input: { message: 'later' }, priority: 5, idempotency_key: 'nightly-2025-01-01' },
        },
        status: 202,
        response: 'operation',
      },
    },
    defineEventHandler(async (event) => {
      const name = getRouterParam(event, 'name', { decode: true })!
      const body = checkInvokeRequest(await readJsonBody(event, ctx.options.maxBodyBytes), ctx.options.queue.maxWaitSeconds)
      // Only a caller that waits can go away mid-request. An AbortController per request, aborted
      // at every close, built a DOMException (stack trace and all) per accept: ≈2.5 % of the
      // gateway's CPU at c=16 in a profile of durable accepts.
      let signal: AbortSignal | undefined
      if (body.wait_seconds) {
        const abort = new AbortController()
        const res = event.node.res
        res.once('close', () => {
          if (!res.writableFinished) abort.abort()
        })
        signal = abort.signal
      }
      const result = await ctx.invoke(name, body, { signal })
      setResponseStatus(event, result.statusCode)
      setResponseHeader(event, 'content-type', 'application/json')
      return invokeAnswerJson(result)
    }),
  )
  // The same invokes over one WebSocket per client (_client-channel.ts), with the API token.
  router.ws(
    CLIENT_CHANNEL_PATH,
    {
      doc: {
        summary: 'The client channel: invokes over one WebSocket',
        description:
          'Upgrade to a WebSocket (API token). A message is a JSON array of frames. Send `{"t":"req","id":<int>,"op":"invoke","body":{"function":"<name>", …the invoke body}}`; each is answered with `{"t":"res","id":<same>,"status":<the invoke route’s status>,"body":<its body>}` after the same commit. Invokes of one event-loop turn travel as one message each way (docs/architecture.md, Client channel).',
        tag: 'function invocations',
        status: 101,
      },
    },
    ctx.clientChannels.hooks,
  )
})
