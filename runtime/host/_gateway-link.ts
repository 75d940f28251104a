import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ConsolaInstance } from 'consola'
import {
  describeNetworkError,
  HOST_SECRET_HEADER,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type ChannelAnswer,
  type ChannelOp,
  type HostEventAck,
  type RegistrationResponse,
  type WorkerRegistration,
} from '../protocol/index.ts'
import { createGatewayChannel } from './_channel.ts'
import { UnknownWorkerError, type OutboxEvent } from './_events.ts'
import { createJsonPoster, HttpStatusError } from './_post.ts'
import type { ResolvedHostOptions } from './options.ts'

export interface GatewayLinkHooks {
  registration(): WorkerRegistration
  onRegistered(response: RegistrationResponse, sent: WorkerRegistration): void
  heartbeat(): HeartbeatRequest
  /** Operations the gateway asks us to stop (cancelled while we could not be told). */
  onCancel(operationIds: string[]): void
  /** A request of the gateway over the channel (dispatch, cancel), answered as the HTTP route would. */
  onChannelRequest(op: ChannelOp, body: unknown): ChannelAnswer | Promise<ChannelAnswer>
  /** The channel opened: queued events can go. */
  onChannelOpen?(): void
}

/**
 * The host's side of registration: register with retry and backoff (forever, until stopped),
 * heartbeat every interval, and register again whenever the gateway answers 404 (it forgot us,
 * e.g. after a restart or after removing us as unavailable).
 *
 * With several gateway URLs (an active/standby pair on PostgreSQL) the host talks to one at a
 * time and moves on when it does not answer or answers GATEWAY_STANDBY (following the active URL
 * that answer names), registering there; the new active re-attaches what the host runs.
 *
 * After each registration it opens its channel (_channel.ts): from then on the gateway's dispatches
 * arrive there and event batches go there, pipelined; HTTP carries them whenever it is down.
 */
export function createGatewayLink(options: ResolvedHostOptions & { apiUrl: string }, hooks: GatewayLinkHooks, logger: ConsolaInstance) {
  const headers: Record<string, string> = options.clusterToken ? { authorization: `Bearer ${options.clusterToken}` } : {}
  const urls = options.apiUrls?.length ? options.apiUrls : [options.apiUrl]
  let current = 0
  // One keep-alive JSON client per gateway for everything the host sends it over HTTP (register,
  // heartbeat, events while the channel is down): plain node:http, see _post.ts; stop() destroys its sockets.
  const connect = (url: string) => ({ url, poster: createJsonPoster(`${url}/api/v1`, headers) })
  let gw = connect(urls[0]!)
  /** Not the active gateway: refused, unreachable, or a standby. Only meaningful with several URLs. */
  const elsewhere = (error: unknown): boolean => {
    if (urls.length < 2) return false
    const status = (error as HttpStatusError).statusCode
    return status === undefined || status === 502 || status === 503 || status === 504
  }
  /** Switch to the active URL a standby named, else to the next one; true when it switched. */
  function moveOn(error: unknown, failedUrl: string): boolean {
    if (!elsewhere(error)) return false
    // Another request that failed on the same gateway has already moved us.
    if (failedUrl !== gw.url) return true
    const data = ((error as HttpStatusError).data ?? null) as { details?: { active_url?: string } } | null
    const named = data?.details?.active_url ? urls.indexOf(data.details.active_url.replace(/\/+$/, '')) : -1
    const next = named >= 0 && named !== current ? named : (current + 1) % urls.length
    if (next === current) return false
    logger.info(`Gateway ${gw.url} is not the active one (${(error as Error).message}); moving to ${urls[next]}`)
    gw.poster.close()
    current = next
    gw = connect(urls[next]!)
    channel.reset()
    return true
  }
  const controller = new AbortController()
  let registering: Promise<void> | null = null
  let registeredOnce = false
  let heartbeatMs = options.heartbeatIntervalMs
  let heartbeatTimer: NodeJS.Timeout | null = null
  // The secret the gateway issued for our id. Kept in the cache dir as the restart token, so a
  // restarted process under the same id can re-claim it (the gateway refuses the id without it).
  const tokenFile = join(options.cacheDir, 'host-secret')
  let secret: string | null = null
  let secretLoaded: Promise<void> | null = null
  const loadSecret = () =>
    (secretLoaded ??= readFile(tokenFile, 'utf8').then(
      (text) => {
        secret = text.trim() || null
      },
      () => {},
    ))
  const secretHeaders = (): Record<string, string> => (secret ? { [HOST_SECRET_HEADER]: secret } : {})
  const channel = createGatewayChannel({
    gatewayUrl: () => gw.url,
    workerId: options.workerId,
    headers: () => ({ ...headers, ...secretHeaders() }),
    onRequest: hooks.onChannelRequest,
    onOpen: hooks.onChannelOpen,
    logger,
  })
  async function keepSecret(value: string) {
    secret = value
    await mkdir(options.cacheDir, { recursive: true })
    const tmp = `${tokenFile}.${process.pid}.tmp`
    await writeFile(tmp, value, { mode: 0o600 })
    await rename(tmp, tokenFile)
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms)
      controller.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t)
          resolve()
        },
        { once: true },
      )
    })

  async function registerLoop() {
    let delay = options.register.initialDelayMs
    // With a standby pair, a full round of URLs is retried at most every second: a takeover
    // completes within seconds and the host should be back within one more.
    const maxDelay = urls.length > 1 ? Math.min(options.register.maxDelayMs, 1000) : options.register.maxDelayMs
    await loadSecret()
    for (let attempt = 1; !controller.signal.aborted; attempt++) {
      const body = hooks.registration()
      const url = gw.url
      try {
        const response = await gw.poster.post<RegistrationResponse>('/workers/register', body, {
          timeoutMs: options.register.timeoutMs,
          headers: secretHeaders(),
          signal: controller.signal,
        })
        if (response.host_secret) await keepSecret(response.host_secret)
        if (response.heartbeat_interval_ms && !options.heartbeatPinned) heartbeatMs = Math.min(heartbeatMs, response.heartbeat_interval_ms)
        hooks.onRegistered(response, body)
        if (!registeredOnce || attempt > 1) {
          logger.log('✅ Worker registered successfully with backend')
          logger.info(`Worker ID: ${options.workerId}`)
          logger.info(`Worker endpoint: ${body.endpoint_url}`)
        } else {
          logger.info(`Worker ${options.workerId} re-registered with ${gw.url}`)
        }
        registeredOnce = true
        if (options.channel) channel.connect()
        return
      } catch (error) {
        if (controller.signal.aborted) return
        const status = (error as HttpStatusError).statusCode
        const why = messageOf(error)
        // The next URL right away, unless a full round has failed.
        if (moveOn(error, url) && attempt % urls.length !== 0) continue
        logger.warn(
          `Failed to register with backend ${url} (attempt ${attempt}${status ? `, HTTP ${status}` : ''}): ${why}; retrying in ${Math.round(delay / 100) / 10} s`,
        )
        await sleep(delay)
        delay = Math.min(maxDelay, delay * 2)
      }
    }
  }

  function register(): Promise<void> {
    registering ??= registerLoop().finally(() => {
      registering = null
    })
    return registering
  }

  async function beat() {
    heartbeatTimer = null
    if (controller.signal.aborted) return
    if (!registering) {
      const url = gw.url
      try {
        const response = await gw.poster.post<HeartbeatResponse>(
          `/workers/${encodeURIComponent(options.workerId)}/heartbeat`,
          hooks.heartbeat(),
          { timeoutMs: Math.max(1000, heartbeatMs * 2), headers: secretHeaders(), signal: controller.signal },
        )
        if (response?.cancel?.length) hooks.onCancel(response.cancel)
      } catch (error) {
        const status = (error as HttpStatusError).statusCode
        if (status === 404) void register()
        else if (moveOn(error, url)) void register()
        else if (status === 403) logger.warn(`Heartbeat refused: ${messageOf(error)}`)
        else logger.debug(`Heartbeat failed: ${messageOf(error)}`)
      }
    }
    if (!controller.signal.aborted) heartbeatTimer = setTimeout(beat, heartbeatMs)
  }

  return {
    /** Registers (retrying until it works), then heartbeats. Resolves after the first registration. */
    async start() {
      await register()
      if (!controller.signal.aborted) heartbeatTimer = setTimeout(beat, heartbeatMs)
    },
    register,
    /** Whether event batches may be pipelined: the channel keeps them in order, HTTP pushes do not. */
    pipelined: () => channel.open,
    async pushEvents(events: OutboxEvent[]): Promise<HostEventAck> {
      if (registering) await registering
      const url = gw.url
      try {
        if (controller.signal.aborted) throw new Error('Gateway link stopped')
        if (channel.open) {
          const answer = await channel.request<HostEventAck>('events', { events }, { timeoutMs: options.register.timeoutMs })
          if (answer.status >= 200 && answer.status < 300 && answer.body) return answer.body
          throw new HttpStatusError(answer.status, `events over the channel: ${answer.status}`, answer.body)
        }
        return await gw.poster.post<HostEventAck>(
          `/workers/${encodeURIComponent(options.workerId)}/events`,
          { events },
          { timeoutMs: options.register.timeoutMs, headers: secretHeaders() },
        )
      } catch (error) {
        if ((error as HttpStatusError).statusCode === 404) throw new UnknownWorkerError(`Gateway does not know worker ${options.workerId}`)
        // The outbox keeps the events and retries; registering with the active one delivers them sooner.
        if (moveOn(error, url)) void register()
        throw error
      }
    },
    /**
     * A graceful stop: no more heartbeats or registrations, then tell the gateway we are gone, so
     * it does not keep us TEMPORARILY_UNAVAILABLE until the removal threshold. Best effort: a
     * gateway that does not answer within `timeoutMs` finds out through its health checks.
     */
    async deregister(timeoutMs = 2000): Promise<boolean> {
      const wasRegistered = registeredOnce && !registering
      controller.abort()
      if (heartbeatTimer) clearTimeout(heartbeatTimer)
      if (!wasRegistered) return false
      try {
        await gw.poster.post(`/workers/${encodeURIComponent(options.workerId)}/deregister`, {}, { timeoutMs, headers: secretHeaders() })
        logger.info(`Worker ${options.workerId} deregistered from ${gw.url}`)
        return true
      } catch (error) {
        const status = (error as HttpStatusError).statusCode
        logger.warn(`Deregistering from ${gw.url} failed: ${status ? `HTTP ${status}: ` : ''}${messageOf(error)}`)
        return false
      }
    },
    stop() {
      controller.abort()
      channel.stop()
      gw.poster.close()
      if (heartbeatTimer) clearTimeout(heartbeatTimer)
    },
  }
}

/**
 * The gateway's message for a refused call (its JSON error body), else the error's own; for a
 * call nothing answered, its cause (refused, DNS, timeout…) rather than a bare socket message.
 */
function messageOf(error: unknown): string {
  const data = (error as HttpStatusError).data as { message?: unknown } | null | undefined
  if (typeof data?.message === 'string') return data.message
  return (error as HttpStatusError).statusCode ? (error as Error).message : describeNetworkError(error)
}
