// A whole cluster in this process: one gateway and N hosts on loopback, sharing one storage root.
// `ktrdr up` is this and a banner; packs' commands (research's `ktrdr demo`) start theirs with it.
import { resolve } from 'node:path'
import type { Gateway, GatewayServerConfig } from '../gateway/index.ts'
import type { HostConfig, KtrdrHost } from '../host/index.ts'
import { createGatewayClient, type GatewayClient } from './_client.ts'

export interface LocalClusterConfig {
  /** Storage root of the gateway (its db, the mounts) and of the hosts. Default KTRDR_HOME, else ./.ktrdr. */
  home?: string
  /** Gateway port on 127.0.0.1; 0 picks a free one. Default 8000. */
  port?: number
  /** Function hosts to start. Default 2. */
  hosts?: number
  /** Port of the first host, the next ones counting up; 0 picks free ports. Default 5003. */
  hostPort?: number
  /** Concurrent invocations per host. Default: the host's (1). */
  slots?: number
  /** Hosts are `<workerIdPrefix>-1`, `-2`, … Default `local-host`. */
  workerIdPrefix?: string
  /** Gateway settings over the cluster's (tokens, quiet, routes, …). */
  gateway?: GatewayServerConfig
  /** Host settings over the cluster's, the same for every host or per host (index from 0). */
  host?: HostConfig | ((index: number) => HostConfig)
}

export interface ResolvedLocalClusterOptions {
  home: string
  port: number
  hosts: number
  hostPort: number
  slots: number | undefined
  workerIdPrefix: string
}

export interface LocalCluster {
  /** The gateway's base URL. */
  url: string
  gateway: Gateway
  hosts: KtrdrHost[]
  /** A client of this gateway with its API token. */
  client: GatewayClient
  options: ResolvedLocalClusterOptions
  /** Hosts first (each drains for up to `timeoutMs`), then the gateway. */
  close(options?: { timeoutMs?: number }): Promise<void>
}

// A plain Error, as the CLI's flag checks throw (_serve.ts): KtrdrError would load the protocol's
// entry (zod, the archive reader) into the CLI's root, which every command pays for.
function invalid(message: string): never {
  throw new Error(message)
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    invalid(`Local cluster: ${name} must be an integer ${min}–${max}, got ${value}`)
  return value
}

/** config > env > default, checked: a bad number is an error naming the setting, never a cluster half up. */
export function resolveLocalClusterOptions(
  config: LocalClusterConfig = {},
  env: Record<string, string | undefined> = process.env,
): ResolvedLocalClusterOptions {
  const hosts = integer('hosts', config.hosts ?? 2, 0, 64)
  const hostPort = integer('hostPort', config.hostPort ?? 5003, 0, 65535)
  if (hostPort > 0 && hostPort + hosts - 1 > 65535) invalid(`Local cluster: ${hosts} hosts from port ${hostPort} run past 65535`)
  return {
    home: resolve(config.home ?? config.gateway?.storage?.root ?? env.KTRDR_HOME ?? '.ktrdr'),
    port: integer('port', config.port ?? 8000, 0, 65535),
    hosts,
    hostPort,
    slots: config.slots === undefined ? undefined : integer('slots', config.slots, 1, 1024),
    workerIdPrefix: config.workerIdPrefix ?? 'local-host',
  }
}

/**
 * Starts the gateway on 127.0.0.1 and the hosts, and resolves once every host has registered.
 * If any part fails to start, what did start is stopped before the error propagates.
 */
export async function startLocalCluster(config: LocalClusterConfig = {}): Promise<LocalCluster> {
  const options = resolveLocalClusterOptions(config)
  const storage = { root: options.home }
  // The gateway and host code (SQLite, h3, executors) loads only when a cluster starts.
  const [{ createGateway }, { createHost }] = await Promise.all([import('../gateway/index.ts'), import('../host/index.ts')])
  const gateway = await createGateway({
    host: '127.0.0.1',
    port: options.port,
    storage,
    ...config.gateway,
  })
  const hosts: KtrdrHost[] = []
  const close = async ({ timeoutMs = 5000 } = {}) => {
    await Promise.all(hosts.map((h) => h.close({ timeoutMs }).catch(() => {})))
    await gateway.close()
  }
  try {
    for (let i = 0; i < options.hosts; i++) {
      const extra = typeof config.host === 'function' ? config.host(i) : config.host
      hosts.push(
        await createHost({
          apiUrl: gateway.url,
          workerId: `${options.workerIdPrefix}-${i + 1}`,
          port: options.hostPort ? options.hostPort + i : 0,
          bind: '127.0.0.1',
          storage,
          // The gateway's own token: these hosts register with it, whatever the environment says.
          clusterToken: gateway.options.clusterToken,
          ...(options.slots ? { slots: options.slots } : {}),
          ...extra,
        }),
      )
    }
    await Promise.all(hosts.map((h) => h.registered))
  } catch (error) {
    await close({ timeoutMs: 0 })
    throw error
  }
  return {
    url: gateway.url,
    gateway,
    hosts,
    client: createGatewayClient({ url: gateway.url, token: gateway.options.apiToken }),
    options,
    close,
  }
}
