import { defineCommand } from 'citty'
import type { Operation, OperationLogLine } from '../../protocol/index.ts'
import { apiArgs, guard, table, useGatewayApi } from '../_api.ts'
import { followEvents, followOperation } from '../_follow.ts'
import { createProgressDisplay } from '../_progress.ts'

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

/** `12:00:01.234 info  message` (stdout lines without a level, stderr ones marked). */
export function formatLogLine(line: OperationLogLine): string {
  const time = line.ts.slice(11, 23)
  const tag = line.stream === 'logger' ? line.level.padEnd(5) : line.stream
  return `${time} ${tag} ${line.message}`
}

const FINAL = new Set(['completed', 'failed', 'cancelled'])

const logs = defineCommand({
  meta: { name: 'logs', description: "What an operation's function wrote (ctx.logger, stdout, stderr); -f follows until it finishes" },
  args: {
    ...apiArgs,
    ...idArg,
    follow: { type: 'boolean', alias: 'f', description: 'Keep printing new lines until the operation finishes (exit 1 unless completed)' },
    attempt: { type: 'string', description: 'Only this attempt (default: all)' },
  },
  run: ({ args }) =>
    guard(async () => {
      const api = useGatewayApi(args.url)
      const path = `/api/v1/operations/${encodeURIComponent(args.id)}/logs`
      const print = (line: OperationLogLine) => console.log(args.json ? JSON.stringify(line) : formatLogLine(line))
      if (!args.follow) {
        let offset = 0
        for (;;) {
          const page = await api<{ data: OperationLogLine[]; total_count: number }>(path, {
            query: { attempt: args.attempt, limit: 10_000, offset },
          })
          page.data.forEach(print)
          offset += page.data.length
          if (page.data.length === 0 || offset >= page.total_count) return
        }
      }
      // Lines carry their id: a broken stream resumes after the last one printed (Last-Event-ID).
      let final: Operation | null = null
      const query = `?follow=1${args.attempt ? `&attempt=${encodeURIComponent(args.attempt)}` : ''}`
      for await (const event of followEvents(api, path + query, {
        done: (e) => FINAL.has(e.event),
        onReconnect: ({ error }) => console.error(`(the log stream broke: ${error.message}; reconnecting)`),
      })) {
        if (event.event === 'log') print(JSON.parse(event.data) as OperationLogLine)
        else if (FINAL.has(event.event)) final = JSON.parse(event.data) as Operation
      }
      if (!final) throw new Error(`The log stream of ${args.id} ended before the operation finished`)
      if (final.status !== 'completed') {
        console.error(`${final.operation_id} ${final.status}${final.error ? `: ${final.error.message}` : ''}`)
        process.exitCode = 1
      }
    }),
})

const watch = defineCommand({
  meta: { name: 'watch', description: 'Follow an operation until it finishes (server-sent events), then print its result' },
  args: { ...apiArgs, ...idArg },
  run: ({ args }) =>
    guard(async () => {
      // --json: every state as one JSON line on stdout, as it comes. Otherwise the progress on
      // stderr (one updating line on a terminal) and, once completed, the result on stdout.
      const progress = createProgressDisplay()
      const op = await followOperation(useGatewayApi(args.url), args.id, {
        onState: (o) => (args.json ? console.log(JSON.stringify(o)) : progress.update(o)),
        onReconnect: ({ error }) => console.error(`(the event stream broke: ${error.message}; reconnecting)`),
      }).finally(() => progress.done())
      if (!args.json && op.status === 'completed') console.log(JSON.stringify(op.result, null, 2))
      if (op.status !== 'completed') {
        if (op.error) console.error(`${op.status}: ${op.error.message}`)
        process.exitCode = 1
      }
    }),
})

export default defineCommand({
  meta: { name: 'ops', description: 'Operations: list, show, cancel, resume, watch, logs' },
  subCommands: { list, show, cancel, resume, watch, logs },
  // The default subcommand's flags, so `ktrdr ops --url X` parses (citty skips known value flags).
  args: list.args,
  default: 'list',
})
