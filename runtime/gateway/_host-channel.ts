import type { Hooks, Peer } from 'crossws'
import type { ConsolaInstance } from 'consola'
import { upgradeRefusal } from '../http/index.ts'
import {
  HOST_SECRET_HEADER,
  KtrdrError,
  channelClosedError,
  createChannelEndpoint,
  type ChannelAnswer,
  type ChannelEndpoint,
  type ChannelOp,
  type HostEventBatch,
} from '../protocol/index.ts'
import type { GatewayHooks } from './_hooks.ts'
import { receiveHostEvents } from './_host-events.ts'
import type { HealthMonitor } from './_health.ts'
import type { OperationLogs } from './_logs.ts'
import type { OperationsService } from './_operations.ts'
import type { Reconciler } from './_reconcile.ts'
import type { WorkerRegistry } from './_workers.ts'

interface HostChannel {
  workerId: string
  /** The endpoint the host registered: dispatches to it go over this channel. */
  endpoint: string
  /** The secret presented at the upgrade, checked again for every batch (the id may change hands). */
  secret: string | undefined
  peer: Peer
  rpc: ChannelEndpoint
}

/**
 * The gateway's side of the host channels (docs/architecture.md, "Host channel"): one WebSocket per
 * registered host, opened by the host. The host client sends dispatches and cancels over it when
 * the host has one open (`forEndpoint`), HTTP otherwise; the host pushes its event batches over it
 * and gets the same acknowledgement as from the events route, after the same commit. A channel
 * that closes is a reason to probe the host at once, like its heartbeat connection closing.
 */
export function createHostChannels(deps: {
  workers: WorkerRegistry
  reconciler: Reconciler
  operations: OperationsService
  logs: OperationLogs
  health: HealthMonitor
  hooks: GatewayHooks
  logger: ConsolaInstance
}) {
  const { workers, reconciler, health, logger } = deps
  const byWorker = new Map<string, HostChannel>()
  const byEndpoint = new Map<string, HostChannel>()
  let closing = false

  async function serve(ch: HostChannel, op: ChannelOp, body: unknown): Promise<ChannelAnswer> {
    if (op !== 'events') throw new KtrdrError({ code: 'BAD_REQUEST', message: `A host does not send "${op}" requests` })
    reconciler.verify(ch.workerId, ch.secret)
    return { status: 200, body: await receiveHostEvents(deps, ch.workerId, body as HostEventBatch) }
  }

  function gone(peer: Peer) {
    const ch = peer.context.channel as HostChannel | undefined
    if (!ch) return
    peer.context.channel = undefined
    ch.rpc.close(channelClosedError(`The channel of host ${ch.workerId} closed`))
    if (byWorker.get(ch.workerId) === ch) byWorker.delete(ch.workerId)
    if (byEndpoint.get(ch.endpoint) === ch) byEndpoint.delete(ch.endpoint)
    const entry = workers.get(ch.workerId)
    if (entry && !entry.lost && !closing) void health.probe(entry, 'its channel closed')
  }

  const hooks: Partial<Hooks> = {
    // The route's policy (cluster token) has been checked; then what the events route checks.
    upgrade(request) {
      const id = decodeURIComponent(new URL(request.url).pathname.split('/')[4] ?? '')
      const secret = request.headers.get(HOST_SECRET_HEADER) || undefined
      try {
        reconciler.verify(id, secret)
        workers.require(id)
      } catch (error) {
        return upgradeRefusal(error)
      }
      request.context.workerId = id
      request.context.secret = secret
    },
    open(peer) {
      const id = peer.context.workerId as string
      const entry = workers.get(id)
      if (!entry || closing) return peer.close(1008, 'Unknown worker: register first')
      const ch: HostChannel = {
        workerId: id,
        endpoint: entry.record.endpoint_url,
        secret: peer.context.secret as string | undefined,
        peer,
      } as HostChannel
      ch.rpc = createChannelEndpoint({
        send: (text) => peer.send(text),
        onRequest: (op, body) => serve(ch, op, body),
        onProtocolError: (why) => {
          logger.warn(`Host ${id} sent ${why} over its channel; closing it`)
          peer.close(1008, 'Not a channel message')
        },
      })
      peer.context.channel = ch
      // A newer channel of the same host (it reconnected before we saw the old one close) wins.
      const previous = byWorker.get(id)
      byWorker.set(id, ch)
      byEndpoint.set(ch.endpoint, ch)
      if (previous) previous.peer.close(1000, 'Replaced by a newer channel')
      logger.debug(`Host ${id} opened its channel`)
    },
    message(peer, message) {
      ;(peer.context.channel as HostChannel | undefined)?.rpc.receive(message.text())
    },
    close: (peer) => gone(peer),
    error: (peer) => gone(peer),
  }

  // A removed worker's channel has nothing left to carry.
  deps.hooks.on('worker:removed', (worker) => byWorker.get(worker.worker_id)?.peer.close(1000, 'Worker removed'))

  return {
    /** crossws hooks of the channel route (`router.ws`). */
    hooks,
    /** The open channel of the host registered at `endpoint`, if any. */
    forEndpoint(endpoint: string): ChannelEndpoint | undefined {
      const ch = byEndpoint.get(endpoint)
      return ch && !ch.rpc.closed ? ch.rpc : undefined
    },
    /** Worker ids with an open channel. */
    connected: () => [...byWorker.keys()],
    close() {
      closing = true
      for (const ch of byWorker.values()) ch.peer.close(1001, 'Gateway closing')
    },
  }
}

export type HostChannels = ReturnType<typeof createHostChannels>
