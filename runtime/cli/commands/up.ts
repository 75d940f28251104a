import { existsSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineCommand } from 'citty'
import { guard } from '../_api.ts'
import { startLocalCluster } from '../_cluster.ts'
import { deployFunction } from '../_deploy.ts'
import { loadPackRoutes, type KtrdrPack } from '../_pack.ts'
import { homeArg, intArg, stopOnSignals } from '../_serve.ts'

/**
 * The functions to deploy: every folder under functions/ with an index.ts (libraries live outside
 * functions/, e.g. trading/).
 */
export function findFunctionDirs(root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../functions')): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort()
}

const DEFAULT_PORT = 8000

/**
 * A listen error of the cluster as one line naming the port and the flag that moves it; any other
 * error unchanged. Node's own ("listen EADDRINUSE: address already in use 127.0.0.1:8000") names
 * neither which part of the cluster wanted the port nor what to do.
 */
export function explainListenError(error: unknown, gatewayPort: number): unknown {
  const e = error as (NodeJS.ErrnoException & { port?: number; address?: string }) | null
  if (e?.code !== 'EADDRINUSE' || typeof e.port !== 'number') return error
  const at = `${e.address ?? '127.0.0.1'}:${e.port}`
  return e.port === gatewayPort
    ? new Error(
        `Port ${e.port} is already in use (${at}; another ktrdr up or gateway?): choose another with --port, e.g. ktrdr up --port ${e.port + 1}`,
      )
    : new Error(
        `Port ${e.port} is already in use (${at}), wanted by a host: choose the first host port with --host-port (0 picks free ones)`,
      )
}

/** `ktrdr up`: gateway (runtime routes plus every pack's) and N hosts; each pack's onUp runs last. */
export const createUpCommand = (packs: readonly KtrdrPack[] = []) =>
  defineCommand({
    meta: {
      name: 'up',
      description: 'A whole local cluster in one process: gateway on 127.0.0.1:8000 plus N hosts on 5003, 5004, …, storage under ./.ktrdr',
    },
    args: {
      hosts: { type: 'string', description: 'Number of function hosts (default 2)' },
      port: { type: 'string', description: 'Gateway port (default 8000)' },
      'host-port': { type: 'string', description: 'First host port (default 5003)' },
      slots: { type: 'string', description: 'Concurrent invocations per host (default 1)' },
      home: homeArg,
      deploy: { type: 'boolean', default: true, description: 'Build and publish functions that have no version yet (--no-deploy to skip)' },
    },
    run: ({ args }) =>
      guard(async () => {
        const port = intArg('port', args.port, { max: 65535 }) ?? DEFAULT_PORT
        const cluster = await startLocalCluster({
          hosts: intArg('hosts', args.hosts, { max: 64, what: 'an integer between 0 and 64' }),
          port,
          hostPort: intArg('host-port', args['host-port'], { max: 65535 }),
          slots: intArg('slots', args.slots, { min: 1, max: 1024 }),
          home: args.home,
          gateway: { routes: await loadPackRoutes(packs) },
        }).catch((error) => {
          throw explainListenError(error, port)
        })
        const { gateway, hosts } = cluster
        const log = gateway.services.logger

        if (args.deploy) {
          for (const name of findFunctionDirs()) {
            const existing = await gateway.services.functions.getFunction(name)
            if (existing && existing.versions.length > 0) continue
            log.start(`Building function ${name}…`)
            try {
              const v = await deployFunction(name, { gateway: cluster.client })
              log.success(
                `Deployed ${name}@${v.version} (${(v.size / 1024).toFixed(0)} KB, sha ${v.sha256.slice(0, 12)}, built in ${v.buildMs} ms)`,
              )
            } catch (error) {
              log.error(`Could not deploy ${name}: ${(error as Error).message}`)
            }
          }
        }

        for (const pack of packs) {
          try {
            await pack.onUp?.({ gateway, logger: log })
          } catch (error) {
            log.error(`Pack ${pack.name} could not finish its start-up step: ${(error as Error).message}`)
          }
        }

        const functions = await gateway.services.functions.listFunctions()
        // The CLI's commands find a gateway on :8000 by themselves; on any other port they need its URL.
        const url = new URL(gateway.url).port === String(DEFAULT_PORT) ? '' : ` --url ${gateway.url}`
        console.log(
          [
            '',
            `  Gateway     ${gateway.url}   (API under ${gateway.url}/api/v1, health ${gateway.url}/health)`,
            ...hosts.map((h) => `  Host        ${h.url}   ${h.workerId}`),
            `  Functions   ${functions.map((f) => `${f.name}@${f.latest}`).join(', ') || 'none deployed (ktrdr fn deploy <name>)'}`,
            `  Storage     ${gateway.services.storage.options.root}`,
            '',
            '  Try:',
            `    curl -s -X POST ${gateway.url}/api/v1/functions/echo/invoke -H 'content-type: application/json' \\`,
            `      -d '{"input":{"message":"hello","steps":3,"delay_ms":300},"wait_seconds":10}'`,
            `    node bin/ktrdr.mjs invoke echo --input '{"message":"hello"}' --wait${url}`,
            `    curl -s ${gateway.url}/api/v1/workers`,
            '',
          ].join('\n'),
        )

        stopOnSignals(async () => {
          log.info('Stopping hosts and gateway…')
          await cluster.close({ timeoutMs: 5000 })
        })
      }),
  })
