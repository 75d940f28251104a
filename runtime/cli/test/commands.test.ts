// The CLI's subcommand table: what `ktrdr --help` lists without importing anything, and what runs.
import { renderUsage, runCommand, type CommandDef } from 'citty'
import { describe, expect, it } from 'vitest'
import { createCli, defineKtrdrPack, runtimeCommands } from '../index.ts'
import { lazySubCommands, namedSubCommand } from '../_lazy.ts'

/** A pack whose one command records each time it is imported and run. */
function recordingPack() {
  const calls = { loaded: 0, ran: 0 }
  const pack = defineKtrdrPack({
    name: 'probe',
    commands: {
      probe: {
        description: 'Probe command',
        load: async () => {
          calls.loaded++
          return { meta: { name: 'probe', description: 'Probe command' }, run: () => void calls.ran++ }
        },
      },
    },
  })
  return { pack, calls }
}

describe('ktrdr subcommands', () => {
  it('each runtime command loads with the name and description --help lists for it', async () => {
    for (const [name, command] of Object.entries(runtimeCommands())) {
      const loaded = await command.load()
      const meta = await (typeof loaded.meta === 'function' ? loaded.meta() : loaded.meta)
      expect({ name: meta?.name, description: meta?.description }).toEqual({ name, description: command.description })
    }
  })

  it('--help lists every command, the packs’ too, and imports none of them', async () => {
    const { pack, calls } = recordingPack()
    const usage = await renderUsage(createCli({ packs: [pack], rawArgs: ['--help'] }))
    const lines = usage.split('\n')
    for (const [name, command] of Object.entries({ ...runtimeCommands(), ...pack.commands }))
      expect(lines.some((l) => l.includes(name) && l.includes(command.description))).toBe(true)
    expect(calls).toEqual({ loaded: 0, ran: 0 })
  })

  it('imports and runs the command the arguments name, and only that one', async () => {
    const { pack, calls } = recordingPack()
    const loaded: string[] = []
    const probeAll = Object.fromEntries(
      Object.entries(runtimeCommands()).map(([name, c]) => [name, { ...c, load: () => (loaded.push(name), c.load()) }]),
    )
    const rawArgs = ['probe', '--verbose']
    await runCommand({ subCommands: lazySubCommands({ ...probeAll, ...pack.commands }, rawArgs) } as CommandDef, { rawArgs })
    expect(calls).toEqual({ loaded: 1, ran: 1 })
    expect(loaded).toEqual([])
  })

  it('no option is named no-…: citty reads --no-x as x = false, so such an option could never be set', async () => {
    const negated: string[] = []
    async function visit(path: string, cmd: CommandDef<any>) {
      const args = await (typeof cmd.args === 'function' ? cmd.args() : cmd.args)
      for (const name of Object.keys(args ?? {})) if (/^no[-A-Z]/.test(name)) negated.push(`${path} --${name}`)
      const subs = await (typeof cmd.subCommands === 'function' ? cmd.subCommands() : cmd.subCommands)
      for (const [name, sub] of Object.entries(subs ?? {}))
        await visit(`${path} ${name}`, await (typeof sub === 'function' ? (sub as () => Promise<CommandDef<any>>)() : sub))
    }
    for (const [name, command] of Object.entries(runtimeCommands())) await visit(`ktrdr ${name}`, await command.load())
    expect(negated).toEqual([])
  })

  it('a pack cannot take a name that is already there', () => {
    const pack = defineKtrdrPack({ name: 'clash', commands: { up: { description: 'x', load: async () => ({}) } } })
    expect(() => createCli({ packs: [pack], rawArgs: [] })).toThrow('Pack clash defines the command "up"')
  })

  it('the named subcommand is the first argument that is not a flag, before any --', () => {
    expect(namedSubCommand(['workers', 'list'])).toBe('workers')
    expect(namedSubCommand(['--help'])).toBeUndefined()
    expect(namedSubCommand(['-h', 'fn', '--help'])).toBe('fn')
    expect(namedSubCommand(['--', 'up'])).toBeUndefined()
    expect(namedSubCommand([])).toBeUndefined()
  })
})
