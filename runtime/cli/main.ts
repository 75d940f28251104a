import { defineCommand, runMain, type CommandDef } from 'citty'
import { consola } from 'consola'
import { createJsonReporter, resolveLogFormat } from '../protocol/index.ts'
import type { KtrdrPack } from './_pack.ts'

export interface CliOptions {
  /** Domain packs: their commands join the runtime's, their routes join every gateway the CLI starts. */
  packs?: KtrdrPack[]
}

/**
 * The `ktrdr` command: the runtime's subcommands plus the packs'. Each subcommand lives in its own
 * file and is loaded only when used, so `ktrdr host` never pays for the gateway's database driver
 * and vice versa.
 */
export function createCli({ packs = [] }: CliOptions = {}): CommandDef {
  const subCommands: Record<string, () => Promise<CommandDef<any>>> = {
    gateway: () => import('./commands/gateway.ts').then((m) => m.createGatewayCommand(packs)),
    host: () => import('./commands/host.ts').then((m) => m.default),
    up: () => import('./commands/up.ts').then((m) => m.createUpCommand(packs)),
    workers: () => import('./commands/workers.ts').then((m) => m.default),
    ops: () => import('./commands/ops.ts').then((m) => m.default),
    invoke: () => import('./commands/invoke.ts').then((m) => m.default),
    fn: () => import('./commands/fn.ts').then((m) => m.default),
    secret: () => import('./commands/secret.ts').then((m) => m.default),
  }
  for (const pack of packs) {
    for (const [name, load] of Object.entries(pack.commands ?? {})) {
      if (subCommands[name])
        throw new Error(`Pack ${pack.name} defines the command "${name}", which another pack or the runtime already has`)
      subCommands[name] = load
    }
  }
  return defineCommand({
    meta: { name: 'ktrdr', description: 'Neuro-fuzzy trading research on a function cluster' },
    subCommands,
  })
}

export function runCli(options: CliOptions = {}): Promise<void> {
  // Services under systemd log for journald/Loki: the CLI's own consola lines too, not only theirs.
  try {
    if (resolveLogFormat(process.env.KTRDR_LOG_FORMAT) === 'json') consola.setReporters([createJsonReporter()])
  } catch (error) {
    console.error(`error: ${(error as Error).message}`)
    process.exitCode = 2
    return Promise.resolve()
  }
  return runMain(createCli(options))
}
