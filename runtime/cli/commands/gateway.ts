import { defineCommand } from 'citty'
import { guard } from '../_api.ts'
import { loadPackRoutes, type KtrdrPack } from '../_pack.ts'
import { homeArg, intArg, stopOnSignals } from '../_serve.ts'

/** `ktrdr gateway`: the runtime's routes plus every pack's. */
export const createGatewayCommand = (packs: readonly KtrdrPack[] = []) =>
  defineCommand({
    meta: { name: 'gateway', description: 'Run the gateway: REST API on :8000, worker registry, scheduler, durable operations' },
    args: {
      host: { type: 'string', description: 'Bind address (default KTRDR_GATEWAY_HOST or 127.0.0.1)' },
      port: { type: 'string', description: 'Port (default KTRDR_GATEWAY_PORT or 8000)' },
      db: { type: 'string', description: 'SQLite file on local disk (default <KTRDR_HOME>/gateway.db)' },
      'database-url': {
        type: 'string',
        description: 'postgres://… : keep the state in PostgreSQL (active/standby pair; default KTRDR_DATABASE_URL)',
      },
      home: homeArg,
      insecure: { type: 'boolean', description: 'Allow a non-loopback bind without KTRDR_API_TOKEN and KTRDR_CLUSTER_TOKEN' },
      // Health timing, the deployment guide's variables (seconds); a flag wins over its variable.
      'health-check-interval': {
        type: 'string',
        description: "Seconds between polls of each host's /health (default KTRDR_WORKER_HEALTH_CHECK_INTERVAL or 10)",
      },
      'health-check-timeout': {
        type: 'string',
        description: 'Seconds a poll may take before it counts as failed (default KTRDR_WORKER_HEALTH_CHECK_TIMEOUT or 5)',
      },
      'health-check-failures': {
        type: 'string',
        description: 'Failed polls in a row before a host is TEMPORARILY_UNAVAILABLE (default KTRDR_WORKER_HEALTH_CHECK_FAILURES or 3)',
      },
      'removal-threshold': {
        type: 'string',
        description:
          'Seconds a host stays TEMPORARILY_UNAVAILABLE, counted from when it became so, before it is removed (default KTRDR_WORKER_REMOVAL_THRESHOLD or 300)',
      },
      'heartbeat-interval': { type: 'string', description: 'Seconds between host heartbeats (default KTRDR_HEARTBEAT_INTERVAL or 2)' },
      'heartbeat-timeout': {
        type: 'string',
        description: 'Seconds without a heartbeat before the host is probed at once (default KTRDR_HEARTBEAT_TIMEOUT or 1.25 intervals)',
      },
    },
    run: ({ args }) =>
      guard(async () => {
        const { createGateway } = await import('../../gateway/index.ts')
        const port = intArg('port', args.port, { max: 65535 })
        const ms = (flag: string, value: string | undefined) => {
          if (value === undefined) return undefined
          const seconds = Number(value)
          if (!(seconds > 0)) throw new Error(`--${flag} must be a number of seconds above 0, got "${value}"`)
          return Math.round(seconds * 1000)
        }
        const health = {
          intervalMs: ms('health-check-interval', args['health-check-interval']),
          timeoutMs: ms('health-check-timeout', args['health-check-timeout']),
          failures: intArg('health-check-failures', args['health-check-failures'], { min: 1 }),
          removalMs: ms('removal-threshold', args['removal-threshold']),
          heartbeatIntervalMs: ms('heartbeat-interval', args['heartbeat-interval']),
          heartbeatTimeoutMs: ms('heartbeat-timeout', args['heartbeat-timeout']),
        }
        const gateway = await createGateway({
          host: args.host,
          port,
          dbPath: args.db,
          databaseUrl: args['database-url'] || undefined,
          storage: args.home ? { root: args.home } : undefined,
          insecure: args.insecure || undefined,
          health: Object.fromEntries(Object.entries(health).filter(([, v]) => v !== undefined)),
          routes: await loadPackRoutes(packs),
        })
        stopOnSignals((signal) => {
          // A standby has no services (and no logger of its own) to report through.
          const logger = gateway.role === 'active' ? gateway.services.logger : console
          logger.info(`${signal}: closing (operations stay in ${gateway.options.databaseUrl ? 'PostgreSQL' : gateway.options.dbPath})`)
          return gateway.close()
        })
      }),
  })
