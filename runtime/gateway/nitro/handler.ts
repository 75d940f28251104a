import { defineEventHandler } from 'h3'
import { gatewayState } from './_state.ts'

/** Catch-all: every request goes through the gateway's own h3 app (auth, body caps, routes). */
export default defineEventHandler(async (event) => {
  const { app } = await gatewayState.ready!
  return app().handler(event)
})
