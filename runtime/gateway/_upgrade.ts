import type { Server } from 'node:http'
import type { Hooks } from 'crossws'
import crossws from 'crossws/adapters/node'
import type { App } from 'h3'
import { KtrdrError } from '../protocol/index.ts'
import { upgradeRefusal } from '../http/index.ts'

/** An upgrade to a path with no WebSocket route. */
const NO_ROUTE: Partial<Hooks> = {
  upgrade: (request) =>
    upgradeRefusal(new KtrdrError({ code: 'ROUTE_NOT_FOUND', message: `No WebSocket route at ${new URL(request.url).pathname}` })),
}

/**
 * Serves WebSocket upgrades on a node:http server through crossws, with the hooks of the h3 route
 * the path resolves to (`router.ws`, which checks the route's policy first). `app` is asked at
 * every upgrade (an active/standby gateway swaps apps). The hooks found at the upgrade travel in
 * the peer's context, so a message is not routed again. Messages are capped like request bodies.
 */
export function serveUpgrades(server: Server, app: () => App, { maxPayload }: { maxPayload: number }) {
  const adapter = crossws({
    serverOptions: { maxPayload },
    resolve: async (info) => {
      const context = (info as { context?: { hooks?: Partial<Hooks> } }).context
      if (context?.hooks) return context.hooks
      const hooks = await app().websocket.resolve!(info)
      if (!hooks.upgrade) return NO_ROUTE
      return {
        ...hooks,
        async upgrade(request) {
          const answer = await hooks.upgrade!(request)
          if (!answer) request.context.hooks = hooks
          return answer
        },
      }
    },
  })
  const onUpgrade = (
    req: Parameters<typeof adapter.handleUpgrade>[0],
    socket: Parameters<typeof adapter.handleUpgrade>[1],
    head: Buffer,
  ) => {
    // node:http leaves an upgrading socket without an error listener, and crossws adds none while
    // the hooks run or while it writes a refusal: a client gone meanwhile (a host that stopped
    // right after registering) made that write's EPIPE/ECONNRESET an uncaught exception.
    socket.on('error', () => socket.destroy())
    void adapter.handleUpgrade(req, socket, head).catch(() => socket.destroy())
  }
  server.on('upgrade', onUpgrade)
  return {
    /** Closes every WebSocket at once (the server is closing). */
    close() {
      adapter.closeAll(1001, 'Server closing', true)
      server.off('upgrade', onUpgrade)
    },
  }
}
