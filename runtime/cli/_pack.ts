import type { ConsolaInstance } from 'consola'
import type { Gateway, GatewayRoutes } from '../gateway/index.ts'
import type { LazyCommand } from './_lazy.ts'

/** What `ktrdr up` hands a pack once the gateway and hosts run and functions are deployed. */
export interface KtrdrUpContext {
  gateway: Gateway
  logger: ConsolaInstance
}

/**
 * A pack plugs a domain into the runtime: gateway routes, CLI subcommands and a step of `ktrdr up`.
 * The runtime knows this shape, never a pack's content; the root cli.ts and server/ compose packs.
 */
export interface KtrdrPack {
  name: string
  /** Route modules (defineGatewayRoutes) the gateway mounts beside its own; loaded only when a gateway starts. */
  routes?: () => Promise<GatewayRoutes[]>
  /** `ktrdr <name>` subcommands: the description `ktrdr --help` lists, and a loader run only when the subcommand is. */
  commands?: Record<string, LazyCommand>
  /** Runs at the end of `ktrdr up` (e.g. seeding example data). */
  onUp?: (ctx: KtrdrUpContext) => Promise<void>
}

export function defineKtrdrPack(pack: KtrdrPack): KtrdrPack {
  return pack
}

/** Every pack's route modules, in pack order. */
export async function loadPackRoutes(packs: readonly KtrdrPack[]): Promise<GatewayRoutes[]> {
  return (await Promise.all(packs.map((p) => p.routes?.() ?? []))).flat()
}
