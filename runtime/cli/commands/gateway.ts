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
    },
    run: ({ args }) =>
      guard(async () => {
        const { createGateway } = await import('../../gateway/index.ts')
        const port = intArg('port', args.port, { max: 65535 })
        const gateway = await createGateway({
          host: args.host,
          port,
          dbPath: args.db,
          databaseUrl: args['database-url'] || undefined,
          storage: args.home ? { root: args.home } : undefined,
          insecure: args.insecure || undefined,
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
