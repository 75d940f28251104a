import type { CommandDef, SubCommandsDef } from 'citty'

/**
 * A subcommand as its parent lists it: the description `--help` prints, and a loader for the
 * command itself, imported only when that subcommand runs. The loaded command's own meta says
 * the same (runtime/cli/test/commands.test.ts holds them together).
 */
export interface LazyCommand {
  description: string
  load: () => Promise<CommandDef<any>>
}

/** The subcommand `rawArgs` names: its first argument that is not a flag (the root takes no flags with values). */
export function namedSubCommand(rawArgs: readonly string[]): string | undefined {
  for (const arg of rawArgs) {
    if (arg === '--') return undefined
    if (!arg.startsWith('-')) return arg
  }
  return undefined
}

/**
 * citty's subCommands for `commands`: the one `rawArgs` names is its loader, every other only its
 * meta. citty resolves every subcommand to read its meta when it prints the root's usage (and when
 * it looks for an alias), so plain loaders would import all of them for `ktrdr --help`: the
 * gateway, nitro, tfjs and the rest (docs/decisions.md, "CLI start").
 */
export function lazySubCommands(commands: Record<string, LazyCommand>, rawArgs: readonly string[]): SubCommandsDef {
  const named = namedSubCommand(rawArgs)
  return Object.fromEntries(
    Object.entries(commands).map(([name, command]) => [
      name,
      name === named ? once(command.load) : { meta: { name, description: command.description } },
    ]),
  )
}

/** The runner resolves the command line before citty runs it (_run.ts): one import, one command object for both. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined
  return () => (loaded ??= load())
}
