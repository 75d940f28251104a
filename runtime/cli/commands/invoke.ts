import { readFile } from 'node:fs/promises'
import { defineCommand } from 'citty'
import type { Operation } from '../../protocol/index.ts'
import { apiArgs, guard, useGatewayApi } from '../_api.ts'
import { UsageError } from '../_errors.ts'
import { followOperation } from '../_follow.ts'
import { createProgressDisplay } from '../_progress.ts'

async function parseInput(raw: string | undefined): Promise<unknown> {
  if (raw === undefined) return {}
  const text = raw.startsWith('@')
    ? await readFile(raw.slice(1), 'utf8').catch((e: Error) => {
        throw new Error(`Cannot read input file ${raw.slice(1)}: ${e.message}`)
      })
    : raw
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new Error(`--input is not valid JSON (${(e as Error).message}); pass a JSON object or @file.json`)
  }
}

export default defineCommand({
  meta: { name: 'invoke', description: 'Invoke a function (name, name@version or name@alias) through the gateway' },
  args: {
    ...apiArgs,
    function: { type: 'positional', required: true, description: 'function name, e.g. echo or backtest@stable' },
    input: { type: 'string', description: 'input as JSON, or @file.json' },
    wait: { type: 'boolean', description: 'follow progress until the operation finishes and print its result' },
    timeout: {
      type: 'string',
      description: 'with --wait: give up waiting after this many seconds (exit 124; the operation stays queued or running)',
    },
    priority: { type: 'string', description: 'higher runs first (default 0)' },
    'prefer-gpu': { type: 'boolean', description: 'rank GPU hosts first' },
    'require-gpu': { type: 'boolean', description: 'run only on a GPU host (waits for one)' },
    'idempotency-key': { type: 'string', description: 'repeat-safe key: the same key returns the same operation' },
  },
  run: ({ args }) =>
    guard(async () => {
      const api = useGatewayApi(args.url)
      const input = await parseInput(args.input)
      const priority = args.priority === undefined ? undefined : Number(args.priority)
      if (priority !== undefined && !Number.isInteger(priority)) throw new Error('--priority must be an integer')
      const timeout = args.timeout === undefined ? undefined : Number(args.timeout)
      if (timeout !== undefined && !(timeout > 0))
        throw new UsageError(`--timeout must be a number of seconds above 0, got ${args.timeout}`)
      if (timeout !== undefined && !args.wait) throw new UsageError('--timeout applies to --wait: add --wait')
      const op = await api<Operation & { warnings?: string[] }>(`/api/v1/functions/${encodeURIComponent(args.function)}/invoke`, {
        method: 'POST',
        body: {
          input,
          priority,
          prefer_gpu: args['prefer-gpu'] || undefined,
          require_gpu: args['require-gpu'] || undefined,
          idempotency_key: args['idempotency-key'],
        },
      })
      // Why an operation may wait (no host can run it yet…): said on stderr, so stdout stays the answer.
      for (const warning of op.warnings ?? []) console.error(`warning: ${warning}`)
      if (!args.wait)
        return void console.log(
          args.json ? JSON.stringify(op, null, 2) : `${op.operation_id} ${op.status} (follow it: ktrdr ops watch ${op.operation_id})`,
        )
      let last: Operation = op
      const signal = timeout === undefined ? undefined : AbortSignal.timeout(timeout * 1000)
      // The progress on stderr: one updating line with an ETA on a terminal, a line per change elsewhere.
      const progress = createProgressDisplay()
      const final = await followOperation(api, op.operation_id, {
        signal,
        onState: (o) => {
          last = o
          if (!args.json && o.status === 'running') progress.update(o)
        },
        onReconnect: ({ error }) => console.error(`(the event stream broke: ${error.message}; reconnecting)`),
      })
        .finally(() => progress.done())
        .catch((error: unknown) => {
          // The follower ends with the signal's reason when --timeout ran out; that is not a failure of the gateway.
          if (!signal?.aborted) throw error
          return null
        })
      if (!final) {
        console.error(
          `${op.operation_id} still ${last.status} after ${timeout} s; it stays in the cluster (follow: ktrdr ops watch ${op.operation_id}, stop: ktrdr ops cancel ${op.operation_id})`,
        )
        process.exitCode = 124
        return
      }
      if (args.json) console.log(JSON.stringify(final, null, 2))
      else if (final.status === 'completed') console.log(JSON.stringify(final.result, null, 2))
      if (final.status !== 'completed') {
        console.error(`${final.operation_id} ${final.status}${final.error ? `: ${final.error.message}` : ''}`)
        process.exitCode = 1
      }
    }),
})
