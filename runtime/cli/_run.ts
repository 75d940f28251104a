// The command line from argv to exit code, in place of citty's runMain: help and version, the
// command path checked before anything runs (unknown commands and options, with suggestions),
// and every error reported the one way `_errors.ts` says. citty's runMain prints usage on
// stdout, any other error with its stack, exits 1 for both, and colours its help even through a
// pipe.
import { renderUsage, runCommand, type ArgDef, type ArgsDef, type CommandDef, type CommandMeta, type Resolvable } from 'citty'
import { colorEnabled, isCittyUsageError, reportError, stripAnsi, UsageError } from './_errors.ts'
import { suggestion } from './_suggest.ts'

type AnyCommand = CommandDef<any>

interface Step {
  /** The name typed for it (the root: its meta name). */
  name: string
  cmd: AnyCommand
}

interface ResolvedLine {
  /** The commands the arguments name, from the root to the one that runs. */
  chain: Step[]
  /** Why the line cannot run as written, found before any command ran. */
  problem?: UsageError
  /** The problem is a command name: no usage of a command to show. */
  unknownCommand?: boolean
}

async function resolveValue<T>(value: Resolvable<T>): Promise<T> {
  return typeof value === 'function' ? (value as () => T | Promise<T>)() : value
}

/** `data-dir`, `dataDir` and `data_dir` are one option to citty (it aliases each arg's camel and kebab forms). */
const normalize = (name: string) => name.replace(/[-_]+([a-z\d])/gi, (_, c: string) => c.toUpperCase())

const aliasesOf = (def: ArgDef): string[] => {
  const alias = 'alias' in def ? def.alias : undefined
  return alias === undefined ? [] : Array.isArray(alias) ? alias : [alias]
}

const takesValue = (def: ArgDef | undefined) => def?.type === 'string' || def?.type === 'enum'

/** Options (not positionals) of a command by every spelling citty accepts for them. */
function optionsOf(argsDef: ArgsDef): Map<string, ArgDef> {
  const options = new Map<string, ArgDef>()
  for (const [name, def] of Object.entries(argsDef)) {
    if (def.type === 'positional') continue
    options.set(normalize(name), def)
    for (const alias of aliasesOf(def)) options.set(normalize(alias), def)
  }
  return options
}

/** Index of the subcommand name in `args` as citty finds it: the first non-option, skipping values of string options. */
function subCommandIndex(args: readonly string[], options: Map<string, ArgDef>): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--') return -1
    if (arg.startsWith('-')) {
      if (!arg.includes('=') && takesValue(options.get(normalize(arg.replace(/^-{1,2}/, ''))))) i++
      continue
    }
    return i
  }
  return -1
}

/** The first option in `args` (up to `--`) that the command does not declare, as a usage error. */
async function unknownOption(args: readonly string[], argsDef: ArgsDef, where: string): Promise<UsageError | undefined> {
  const options = optionsOf(argsDef)
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--') return undefined
    if (!arg.startsWith('-') || arg === '-') continue
    // Every command takes --help: not unknown, and no suggestion to compute (that loads the
    // protocol's edit distance, and zod with it, on every `--help`: 225 modules, ~60 ms).
    if (arg === '--help' || arg === '-h') continue
    const name = arg.replace(/^-{1,2}/, '').split('=')[0]
    let def = options.get(normalize(name))
    // citty reads --no-x as x = false.
    if (!def && arg.startsWith('--no-')) def = options.get(normalize(name.slice(3)))
    if (!def) {
      const declared = Object.entries(argsDef)
        .filter(([, d]) => d.type !== 'positional')
        .map(([n]) => `--${n}`)
      const typed = arg.split('=')[0]
      return new UsageError(
        `Unknown option ${typed} for ${where}.${await suggestion(typed, declared)} Run \`${where} --help\` for its options.`,
      )
    }
    if (takesValue(def) && !arg.includes('=')) i++
  }
  return undefined
}

async function findSubCommand(subCommands: Record<string, Resolvable<AnyCommand>>, name: string): Promise<AnyCommand | undefined> {
  if (Object.hasOwn(subCommands, name)) return resolveValue(subCommands[name])
  for (const sub of Object.values(subCommands)) {
    const cmd = await resolveValue(sub)
    const meta = await resolveValue(cmd?.meta ?? {})
    const aliases = meta.alias === undefined ? [] : Array.isArray(meta.alias) ? meta.alias : [meta.alias]
    if (aliases.includes(name)) return cmd
  }
  return undefined
}

/**
 * Walks the command line the way citty will run it and reports the first unknown command or
 * option. citty itself accepts any option (its parser is not strict), so `--jsno` would run the
 * command without JSON; here it is an error naming what was meant.
 */
async function resolveCommandLine(root: AnyCommand, rawArgs: readonly string[]): Promise<ResolvedLine> {
  const rootMeta = await resolveValue(root.meta ?? {})
  const chain: Step[] = [{ name: rootMeta.name ?? 'ktrdr', cmd: root }]
  let cmd = root
  let args = rawArgs
  for (;;) {
    const where = chain.map((s) => s.name).join(' ')
    const argsDef = await resolveValue(cmd.args ?? {})
    const subCommands = await resolveValue(cmd.subCommands ?? {})
    const index = Object.keys(subCommands).length ? subCommandIndex(args, optionsOf(argsDef)) : -1
    const problem = await unknownOption(index === -1 ? args : args.slice(0, index), argsDef, where)
    if (problem) return { chain, problem }
    if (index === -1) return { chain }
    const name = args[index]
    const sub = await findSubCommand(subCommands, name)
    if (!sub) {
      const names = Object.keys(subCommands)
      return {
        chain,
        unknownCommand: true,
        problem: new UsageError(
          `Unknown command "${name}" for ${where}.${await suggestion(name, names, (n) => `"${n}"`)} Run \`${where} --help\` for its commands.`,
        ),
      }
    }
    chain.push({ name, cmd: sub })
    cmd = sub
    args = args.slice(index + 1)
  }
}

/** The usage of the last command of `chain`, titled with its whole path (`ktrdr fn list`, not citty's `fn list`). */
async function usageOf(chain: readonly Step[], color: boolean): Promise<string> {
  const { cmd } = chain.at(-1)!
  const rootMeta = await resolveValue(chain[0].cmd.meta ?? {})
  const parent: AnyCommand | undefined =
    chain.length > 1
      ? {
          meta: {
            name: chain
              .slice(0, -1)
              .map((s) => s.name)
              .join(' '),
            version: rootMeta.version,
          },
        }
      : undefined
  const usage = await renderUsage(cmd, parent)
  return color ? usage : stripAnsi(usage)
}

export interface RunCommandLineOptions {
  rawArgs: string[]
}

/**
 * Runs `root` with `rawArgs`: `--help`/`-h` prints the usage of the command they go with, a lone
 * `--version`/`-v` the root's meta version; otherwise the command runs. Ends with process.exitCode
 * set (0, 1 for a failure, 2 for a usage error), never process.exit: servers a command started keep
 * running, and piped output is flushed.
 */
export async function runCommandLine(root: AnyCommand, { rawArgs }: RunCommandLineOptions): Promise<void> {
  const own = rawArgs.includes('--') ? rawArgs.slice(0, rawArgs.indexOf('--')) : rawArgs
  let resolved: ResolvedLine | undefined
  try {
    if (own.includes('--help') || own.includes('-h')) {
      resolved = await resolveCommandLine(root, rawArgs)
      if (resolved.unknownCommand) throw resolved.problem
      console.log(`${await usageOf(resolved.chain, colorEnabled(process.stdout))}\n`)
      return
    }
    if (rawArgs.length === 1 && (rawArgs[0] === '--version' || rawArgs[0] === '-v')) {
      const meta: CommandMeta = await resolveValue(root.meta ?? {})
      console.log(meta.version ?? 'unknown')
      return
    }
    resolved = await resolveCommandLine(root, rawArgs)
    if (resolved.problem) throw resolved.problem
    await runCommand(root, { rawArgs })
  } catch (error) {
    // citty's usage errors are about the command's arguments (one missing, a value not among an
    // enum's, no subcommand given): its usage goes first, on stderr (stdout may be a pipe
    // expecting JSON). Ours name the fix in their message.
    if (isCittyUsageError(error) && resolved) console.error(`${await usageOf(resolved.chain, colorEnabled(process.stderr))}\n`)
    reportError(error)
  }
}
