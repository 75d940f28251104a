import { defineCommand } from 'citty'
import { apiArgs, guard, table, useGatewayApi } from '../_api.ts'

const fnArg = { fn: { type: 'positional', required: true, description: 'function name' } } as const
const nameArg = {
  name: { type: 'positional', required: true, description: 'secret name (becomes an environment variable of the function)' },
} as const
const path = (fn: string, name?: string) =>
  `/api/v1/functions/${encodeURIComponent(fn)}/secrets${name ? `/${encodeURIComponent(name)}` : ''}`

/** The value from stdin (a pipe or a prompt-less paste ended by EOF), minus one trailing newline. */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Secret value (end with Ctrl-D): ')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}

const set = defineCommand({
  meta: { name: 'set', description: 'Set a secret of a function (value from stdin, or --value)' },
  args: {
    ...apiArgs,
    ...fnArg,
    ...nameArg,
    value: { type: 'string', description: 'The value (visible in shell history and ps: prefer stdin)' },
  },
  run: ({ args }) =>
    guard(async () => {
      const value = typeof args.value === 'string' ? args.value : await readStdin()
      const r = await useGatewayApi(args.url)<{ function: string; name: string; updated_at: string }>(path(args.fn, args.name), {
        method: 'PUT',
        body: { value },
      })
      if (args.json) return void console.log(JSON.stringify(r, null, 2))
      console.log(`Secret ${r.name} of ${r.function} set; its next invocation gets it`)
    }),
})

const list = defineCommand({
  meta: { name: 'list', description: "Names of a function's secrets (never their values)" },
  args: { ...apiArgs, ...fnArg },
  run: ({ args }) =>
    guard(async () => {
      const r = await useGatewayApi(args.url)<{ function: string; data: Array<{ name: string; updated_at: string }> }>(path(args.fn))
      if (args.json) return void console.log(JSON.stringify(r, null, 2))
      if (!r.data.length)
        return void console.log(`Function ${r.function} has no secrets. Set one with \`ktrdr secret set ${r.function} NAME\``)
      console.log(table(r.data, ['name', 'updated_at']))
    }),
})

const rm = defineCommand({
  meta: { name: 'rm', description: 'Remove a secret of a function' },
  args: { ...apiArgs, ...fnArg, ...nameArg },
  run: ({ args }) =>
    guard(async () => {
      const r = await useGatewayApi(args.url)<{ function: string; name: string; deleted: boolean }>(path(args.fn, args.name), {
        method: 'DELETE',
      })
      if (args.json) return void console.log(JSON.stringify(r, null, 2))
      console.log(`Secret ${r.name} of ${r.function} removed`)
    }),
})

export default defineCommand({
  meta: { name: 'secret', description: "Per-function secrets, delivered only to that function's executors" },
  subCommands: { set, list, rm },
})
