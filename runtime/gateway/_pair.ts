import { createConsola } from 'consola'
import { KtrdrError } from '../protocol/index.ts'
import type { GatewayApp } from './_app.ts'
import { redactUrl } from './_db-url.ts'
import { createLeaderElection, type LeaderElection } from './_leader.ts'
import type { ResolvedGatewayOptions } from './_options.ts'
import { createGatewayServices, type GatewayServiceOverrides, type GatewayServices } from './_services.ts'
import { createStandbyApp } from './_standby.ts'

/** One gateway of an active/standby pair on PostgreSQL, whatever serves its HTTP (node:http or Nitro). */
export interface GatewayPair {
  readonly role: 'active' | 'standby'
  /** The app to hand the next request to: the full API while active, the standby's otherwise. */
  readonly app: GatewayApp
  /** The running services; null on a standby. */
  readonly services: GatewayServices | null
  /** Resolves with the services once this gateway is (or becomes) the active one. */
  whenActive(): Promise<GatewayServices>
  /** The URL this gateway answers at, recorded for the standby to name (when KTRDR_GATEWAY_PUBLIC_URL is not set). */
  listening(url: string): Promise<void>
  close(): Promise<void>
}

/**
 * A gateway on PostgreSQL: active while it holds the leader lock, standby otherwise (one try at
 * start, then every `leader.retryMs`). Taking over loads the live operations from the database;
 * hosts re-register with it (the standby's 503 and the dead active's silence send them here).
 * Losing the lock, or the data connection, closes the services and goes back to standby.
 */
export async function createGatewayPair(
  options: ResolvedGatewayOptions,
  overrides: GatewayServiceOverrides,
  buildApp: (services: GatewayServices) => Promise<GatewayApp>,
): Promise<GatewayPair> {
  const databaseUrl = options.databaseUrl!
  const logger = overrides.logger ?? createConsola({ level: options.quiet ? 0 : 3 }).withTag('gateway')
  const startedAt = new Date()
  let url: string | null = null
  const elect = (): LeaderElection =>
    createLeaderElection({ url: databaseUrl, publicUrl: () => options.publicUrl ?? url, options: options.leader, logger })
  let leader = elect()
  const standby = createStandbyApp(options, { startedAt, active: () => leader.active })
  let app: GatewayApp = standby
  let services: GatewayServices | null = null
  let activating: Promise<void> | null = null
  let retryTimer: NodeJS.Timeout | null = null
  let closed = false
  const activeWaiters: Array<(s: GatewayServices) => void> = []

  async function becomeActive() {
    const epoch = leader.epoch!
    const current = leader
    try {
      const built = await createGatewayServices(options, {
        ...overrides,
        logger,
        fence: { epoch, onFenced: () => stepDown(`another gateway took over (epoch > ${epoch})`) },
      })
      if (closed || leader !== current || current.epoch !== epoch) {
        await built.close()
        return
      }
      services = built
      app = await buildApp(built)
      current.onLost((reason) => stepDown(reason))
      if (built.database.dialect === 'postgresql') built.database.onLost((error) => stepDown(`data connection lost: ${error.message}`))
      logger.info(
        `Gateway is ACTIVE (epoch ${epoch}, PostgreSQL ${redactUrl(databaseUrl)}): ${built.operations.counts().live} live operation(s) loaded`,
      )
      for (const resolve of activeWaiters.splice(0)) resolve(built)
    } catch (error) {
      logger.error(`Taking over failed, back to standby: ${(error as Error).message}`)
      await current.close()
      if (leader === current) leader = elect()
      schedule()
    }
  }

  function stepDown(reason: string) {
    if (closed || !services) return
    logger.error(`Gateway steps down to standby: ${reason}`)
    const old = services
    services = null
    app = standby
    void old.close().catch((error: Error) => logger.warn(`Closing the former active services failed: ${error.message}`))
    const oldLeader = leader
    leader = elect()
    void oldLeader.close()
    // First try one period later, so the standby (already trying) gets the lock rather than us again.
    schedule()
  }

  async function attempt() {
    retryTimer = null
    if (closed || services || activating) return
    if (await leader.tryAcquire()) {
      activating = becomeActive().finally(() => {
        activating = null
      })
      await activating
    } else schedule()
  }
  function schedule() {
    if (closed || retryTimer) return
    retryTimer = setTimeout(() => void attempt(), options.leader.retryMs)
  }

  // Claim the lock before serving so that a lone gateway answers as active from its first request.
  await attempt()
  let closing: Promise<void> | null = null
  return {
    get role() {
      return services ? ('active' as const) : ('standby' as const)
    },
    get app() {
      return app
    },
    get services() {
      return services
    },
    whenActive: () => (services ? Promise.resolve(services) : new Promise<GatewayServices>((resolve) => activeWaiters.push(resolve))),
    async listening(listenUrl) {
      url = listenUrl
      if (services && !options.publicUrl)
        await leader.announce(listenUrl).catch((error: Error) => logger.warn(`Recording this gateway's URL failed: ${error.message}`))
      if (!services)
        logger.info(
          `Gateway is STANDBY on ${listenUrl}: the active gateway is ${leader.active?.url ?? 'not known yet'}; trying the leader lock every ${options.leader.retryMs} ms`,
        )
    },
    close() {
      closing ??= (async () => {
        closed = true
        if (retryTimer) clearTimeout(retryTimer)
        await activating?.catch(() => {})
        await services?.close()
        // Last: the lock goes once the state is written.
        await leader.close()
      })()
      return closing
    },
  }
}

/** What reading a standby's services gives: a clear refusal rather than a null. */
export function standbyServicesError(): KtrdrError {
  return new KtrdrError({
    code: 'GATEWAY_STANDBY',
    message: 'This gateway is the standby: it has no services until it takes over',
  })
}
