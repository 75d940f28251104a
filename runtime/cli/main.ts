import { defineCommand, type CommandDef } from 'citty'
import { lazySubCommands, type LazyCommand } from './_lazy.ts'
import type { KtrdrPack } from './_pack.ts'
import { runCommandLine } from './_run.ts'
import { ktrdrVersion } from './_version.ts'

export interface CliOptions {
  /** Domain packs: their commands join the runtime's, their routes join every gateway the CLI starts. */
  packs?: KtrdrPack[]
  /** The arguments after `ktrdr` (default: the process's): only the subcommand they name is imported. */
  rawArgs?: string[]
}

/** The runtime's subcommands; each lives in its own file and is imported only when it runs. */
export function runtimeCommands(packs: readonly KtrdrPack[] = []): Record<string, LazyCommand> {
  return {
    gateway: {
      description: 'Run the gateway: REST API on :8000, worker registry, scheduler, durable operations',
      load: () => import('./commands/gateway.ts').then((m) => m.createGatewayCommand(packs)),
    },
    host: {
      description: 'Run a function host: registers with the gateway, runs function bundles in isolated executors',
      load: () => import('./commands/host.ts').then((m) => m.default),
    },
    up: {
      description: 'A whole local cluster in one process: gateway on 127.0.0.1:8000 plus N hosts on 5003, 5004, …, storage under ./.ktrdr',
      load: () => import('./commands/up.ts').then((m) => m.createUpCommand(packs)),
    },
    workers: {
      description: 'Registered function hosts (list by default)',
      load: () => import('./commands/workers.ts').then((m) => m.default),
    },
    ops: {
      description: 'Operations: list, show, cancel, resume, watch, logs',
      load: () => import('./commands/ops.ts').then((m) => m.default),
    },
    invoke: {
      description: 'Invoke a function (name, name@version or name@alias) through the gateway',
      load: () => import('./commands/invoke.ts').then((m) => m.default),
    },
    fn: { description: 'Build, deploy and manage function versions', load: () => import('./commands/fn.ts').then((m) => m.default) },
    secret: {
      description: "Per-function secrets, delivered only to that function's executors",
      load: () => import('./commands/secret.ts').then((m) => m.default),
    },
  }
}

/**
 * The `ktrdr` command: the runtime's subcommands plus the packs'. Only the subcommand named on the
 * command line is imported, so `ktrdr host` never pays for the gateway's database driver, and
 * `ktrdr --help` for none of them.
 */
export function createCli({ packs = [], rawArgs = process.argv.slice(2) }: CliOptions = {}): CommandDef {
  const commands = runtimeCommands(packs)
  for (const pack of packs) {
    for (const [name, command] of Object.entries(pack.commands ?? {})) {
      if (commands[name]) throw new Error(`Pack ${pack.name} defines the command "${name}", which another pack or the runtime already has`)
      commands[name] = command
    }
  }
  return defineCommand({
    // A function: package.json is read only for --version and --help.
    meta: () => ({ name: 'ktrdr', description: 'Neuro-fuzzy trading research on a function cluster', version: ktrdrVersion() }),
    subCommands: lazySubCommands(commands, rawArgs),
  })
}

export async function runCli(options: CliOptions = {}): Promise<void> {
  const rawArgs = options.rawArgs ?? process.argv.slice(2)
  // Services under systemd log for journald/Loki: the CLI's own consola lines too, not only theirs.
  // Loaded only when asked for: the protocol's entry (zod) would cost every command's start.
  if (process.env.KTRDR_LOG_FORMAT) {
    const [{ consola }, { createJsonReporter, resolveLogFormat }] = await Promise.all([import('consola'), import('../protocol/index.ts')])
    try {
      if (resolveLogFormat(process.env.KTRDR_LOG_FORMAT) === 'json') consola.setReporters([createJsonReporter()])
    } catch (error) {
      console.error(`error: ${(error as Error).message}`)
      process.exitCode = 2
      return
    }
  }
  return runCommandLine(createCli({ ...options, rawArgs }), { rawArgs })
}
