import { defineCommand } from 'citty'
import { guard } from '../_api.ts'

export default defineCommand({
  meta: { name: 'gateway', description: 'Run the gateway: REST API on :8000, worker registry, scheduler, durable operations' },
  args: {
    host: { type: 'string', description: 'Bind address (default KTRDR_GATEWAY_HOST or 127.0.0.1)' },
    port: { type: 'string', description: 'Port (default KTRDR_GATEWAY_PORT or 8000)' },
    db: { type: 'string', description: 'SQLite file on local disk (default <KTRDR_HOME>/gateway.db)' },
    home: { type: 'string', description: 'Storage root (default KTRDR_HOME or ./.ktrdr)' },
    insecure: { type: 'boolean', description: 'Allow a non-loopback bind without KTRDR_API_TOKEN and KTRDR_CLUSTER_TOKEN' },
  },
  run: ({ args }) => guard(async () => {
    const { createGateway } = await import('../../gateway/index.ts')
    const port = args.port === undefined ? undefined : Number(args.port)
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new Error(`--port must be 0–65535, got "${args.port}"`)
    const gateway = await createGateway({
      host: args.host, port, dbPath: args.db,
      storage: args.home ? { root: args.home } : undefined,
      insecure: args.insecure || undefined,
    })
    let stopping = false
    const stop = (signal: string) => {
      if (stopping) return
      stopping = true
      gateway.services.logger.info(`${signal}: closing (operations stay in ${gateway.options.dbPath})`)
      gateway.close().then(() => process.exit(0), () => process.exit(1))
    }
    process.on('SIGINT', () => stop('SIGINT'))
    process.on('SIGTERM', () => stop('SIGTERM'))
  }),
})
