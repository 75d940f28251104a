import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ConsolaInstance } from 'consola'
import { ofetch, FetchError } from 'ofetch'
import {
  describeNetworkError,
  HOST_SECRET_HEADER,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type HostEvent,
  type HostEventAck,
  type RegistrationResponse,
  type WorkerRegistration,
} from '../protocol/index.ts'
import { UnknownWorkerError } from './_events.ts'
import { createJsonPoster } from './_post.ts'
import type { ResolvedHostOptions } from './options.ts'

export interface GatewayLinkHooks {
  registration(): WorkerRegistration
  onRegistered(response: RegistrationResponse, sent: WorkerRegistration): void
  heartbeat(): HeartbeatRequest
  /** Operations the gateway asks us to stop (cancelled while we could not be told). */
  onCancel(operationIds: string[]): void
}

/**
 * The host's side of registration: register with retry and backoff (forever, until stopped),
 * heartbeat every interval, and register again whenever the gateway answers 404 (it forgot us,
 * e.g. after a restart or after removing us as unavailable).
 */
export function createGatewayLink(options: ResolvedHostOptions & { apiUrl: string }, hooks: GatewayLinkHooks, logger: ConsolaInstance) {
  const headers: Record<string, string> = options.clusterToken ? { authorization: `Bearer ${options.clusterToken}` } : {}
  const api = ofetch.create({ baseURL: `${options.apiUrl}/api/v1`, headers, timeout: options.register.timeoutMs, retry: 0 })
  // Event pushes go through plain node:http (see _post.ts); stop() destroys its sockets.
  const poster = createJsonPoster(`${options.apiUrl}/api/v1`, headers)
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
    await loadSecret()
    for (let attempt = 1; !controller.signal.aborted; attempt++) {
      const body = hooks.registration()
      try {
        const response = await api<RegistrationResponse>('/workers/register', {
          method: 'POST',
          body,
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
          logger.info(`Worker ${options.workerId} re-registered with ${options.apiUrl}`)
        }
        registeredOnce = true
        return
      } catch (error) {
        if (controller.signal.aborted) return
        const status = (error as FetchError).statusCode
        const why = (error as FetchError).data?.message ?? (status ? (error as Error).message : describeNetworkError(error))
        logger.warn(
          `Failed to register with backend ${options.apiUrl} (attempt ${attempt}${status ? `, HTTP ${status}` : ''}): ${why}; retrying in ${Math.round(delay / 100) / 10} s`,
        )
        await sleep(delay)
        delay = Math.min(options.register.maxDelayMs, delay * 2)
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
      try {
        const response = await api<HeartbeatResponse>(`/workers/${encodeURIComponent(options.workerId)}/heartbeat`, {
          method: 'POST',
          body: hooks.heartbeat(),
          headers: secretHeaders(),
          signal: controller.signal,
          timeout: Math.max(1000, heartbeatMs * 2),
        })
        if (response?.cancel?.length) hooks.onCancel(response.cancel)
      } catch (error) {
        const status = (error as FetchError).statusCode
        if (status === 404) void register()
        else if (status === 403) logger.warn(`Heartbeat refused: ${(error as FetchError).data?.message ?? (error as Error).message}`)
        else logger.debug(`Heartbeat failed: ${status ? (error as Error).message : describeNetworkError(error)}`)
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
    async pushEvents(events: HostEvent[]): Promise<HostEventAck> {
      if (registering) await registering
      try {
        if (controller.signal.aborted) throw new Error('Gateway link stopped')
        return await poster.post<HostEventAck>(
          `/workers/${encodeURIComponent(options.workerId)}/events`,
          { events },
          { timeoutMs: options.register.timeoutMs, headers: secretHeaders() },
        )
      } catch (error) {
        if ((error as FetchError).statusCode === 404) throw new UnknownWorkerError(`Gateway does not know worker ${options.workerId}`)
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
        await api(`/workers/${encodeURIComponent(options.workerId)}/deregister`, {
          method: 'POST',
          body: {},
          headers: secretHeaders(),
          timeout: timeoutMs,
        })
        logger.info(`Worker ${options.workerId} deregistered from ${options.apiUrl}`)
        return true
      } catch (error) {
        const status = (error as FetchError).statusCode
        logger.warn(`Deregistering from ${options.apiUrl} failed: ${status ? `HTTP ${status}` : describeNetworkError(error)}`)
        return false
      }
    },
    stop() {
      controller.abort()
      poster.close()
      if (heartbeatTimer) clearTimeout(heartbeatTimer)
    },
  }
}
