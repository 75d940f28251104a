import { defineCommand } from 'citty'
import type { Operation } from '../../protocol/index.ts'
import { apiArgs, guard, table, useGatewayApi } from '../_api.ts'

const idArg = { id: { type: 'positional', required: true, description: 'operation id' } } as const

function summary(op: Operation): string {
  const pct = `${Math.round(op.progress.percentage)}%`
  return `${op.operation_id}  ${op.status}  ${pct}${op.progress.current_step ? `  ${op.progress.current_step}` : ''}${op.worker_id ? `  on ${op.worker_id}` : ''}`
}

const list = defineCommand({
  meta: { name: 'list', description: 'List operations (newest first)' },
  args: {
    ...apiArgs,
    status: { type: 'string', description: 'pending,running,completed,failed,cancelled (comma-separated)' },
    type: { type: 'string', description: 'operation type (training, backtesting, data_load, dummy…)' },
    limit: { type: 'string', description: 'default 20' },
    offset: { type: 'string', description: 'default 0' },
  },
  run: ({ args }) =>
    guard(async () => {
      const res = await useGatewayApi(args.url)<{ data: Operation[]; total_count: number }>('/api/v1/operations', {
        query: { status: args.status, operation_type: args.type, limit: args.limit ?? 20, offset: args.offset },
      })
      if (args.json) return void console.log(JSON.stringify(res, null, 2))
      if (!res.data.length) return void console.log('No operations.')
      console.log(
        table(
          res.data.map((o) => ({
            operation_id: o.operation_id,
            function: `${o.function.name}@${o.function.version}`,
            status: o.status,
            progress: `${Math.round(o.progress.percentage)}%`,
            worker: o.worker_id,
            attempts: `${o.attempts}/${o.max_attempts}`,
            created: o.created_at,
          })),
          ['operation_id', 'function', 'status', 'progress', 'worker', 'attempts', 'created'],
        ),
      )
      if (res.total_count > res.data.length) console.log(`… ${res.total_count} in total`)
    }),
})

const show = defineCommand({
  meta: { name: 'show', description: 'Show one operation (the full object)' },
  args: { ...apiArgs, ...idArg },
  run: ({ args }) =>
    guard(async () =>
      console.log(JSON.stringify(await useGatewayApi(args.url)(`/api/v1/operations/${encodeURIComponent(args.id)}`), null, 2)),
    ),
})

const cancel = defineCommand({
  meta: { name: 'cancel', description: 'Cancel a pending or running operation' },
  args: { ...apiArgs, ...idArg, reason: { type: 'string', description: 'recorded on the operation' } },
  run: ({ args }) =>
    guard(async () => {
      const op = await useGatewayApi(args.url)<Operation>(`/api/v1/operations/${encodeURIComponent(args.id)}`, {
        method: 'DELETE',
        body: args.reason ? { reason: args.reason } : undefined,
      })
      console.log(summary(op))
    }),
})

const resume = defineCommand({
  meta: { name: 'resume', description: 'Run a cancelled or failed operation again (functions pick up their checkpoints)' },
  args: { ...apiArgs, ...idArg },
  run: ({ args }) =>
    guard(async () =>
      console.log(
        summary(await useGatewayApi(args.url)<Operation>(`/api/v1/operations/${encodeURIComponent(args.id)}/resume`, { method: 'POST' })),
      ),
    ),
})

/** Follows the operation's server-sent events until it finishes (or `signal` aborts); exit code 1 unless completed. */
export async function watchOperation(
  baseUrl: string,
  token: string | undefined,
  id: string,
  print: (op: Operation, event: string) => void,
  signal?: AbortSignal,
): Promise<Operation> {
  const res = await fetch(`${baseUrl}/api/v1/operations/${encodeURIComponent(id)}/events`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal,
  })
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { message?: string }
    throw new Error(body.message ?? `Cannot watch ${id}: HTTP ${res.status}`)
  }
  const decoder = new TextDecoder()
  let buffer = ''
  let last: Operation | null = null
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let cut: number
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message'
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n')
      if (!data) continue
      last = JSON.parse(data) as Operation
      print(last, event)
    }
  }
  if (!last) throw new Error(`The event stream for ${id} ended without data`)
  return last
}

const watch = defineCommand({
  meta: { name: 'watch', description: 'Follow an operation until it finishes (server-sent events)' },
  args: { ...apiArgs, ...idArg },
  run: ({ args }) =>
    guard(async () => {
      const api = useGatewayApi(args.url)
      const op = await watchOperation(api.base, api.token, args.id, (o) => console.log(args.json ? JSON.stringify(o) : summary(o)))
      if (op.status !== 'completed') {
        if (op.error) console.error(`${op.status}: ${op.error.message}`)
        process.exitCode = 1
      }
    }),
})

export default defineCommand({
  meta: { name: 'ops', description: 'Operations: list, show, cancel, resume, watch' },
  subCommands: { list, show, cancel, resume, watch },
  // The default subcommand's flags, so `ktrdr ops --url X` parses (citty skips known value flags).
  args: list.args,
  default: 'list',
})
