import { defineCommand } from 'citty'
import type { WorkerRecord } from '../../protocol/index.ts'
import { apiArgs, guard, table, useGatewayApi } from '../_api.ts'

const list = defineCommand({
  meta: { name: 'list', description: 'List registered hosts' },
  args: {
    ...apiArgs,
    type: { type: 'string', description: 'Filter by worker type' },
    status: { type: 'string', description: 'AVAILABLE | BUSY | TEMPORARILY_UNAVAILABLE' },
  },
  run: ({ args }) =>
    guard(async () => {
      const api = useGatewayApi(args.url)
      const workers = await api<WorkerRecord[]>('/api/v1/workers', { query: { worker_type: args.type, status: args.status } })
      if (args.json) return void console.log(JSON.stringify(workers, null, 2))
      if (!workers.length)
        return void console.log(`No hosts registered at ${api.base}. Start one with \`ktrdr host\` (KTRDR_API_URL=${api.base}).`)
      console.log(
        table(
          workers.map((w) => ({
            worker_id: w.worker_id,
            type: w.worker_type,
            status: w.status + (w.metadata.draining ? ' (draining)' : ''),
            endpoint: w.endpoint_url,
            slots: `${w.capabilities.slots - w.metadata.free_slots}/${w.capabilities.slots}`,
            gpu: w.capabilities.gpu ? `${w.capabilities.gpu_type ?? 'yes'}×${w.capabilities.gpu_count ?? 1}` : 'no',
            current: w.metadata.current_operation,
          })),
          ['worker_id', 'type', 'status', 'endpoint', 'slots', 'gpu', 'current'],
        ),
      )
    }),
})

const health = defineCommand({
  meta: { name: 'health', description: 'Counts by status' },
  args: apiArgs,
  run: ({ args }) => guard(async () => console.log(JSON.stringify(await useGatewayApi(args.url)('/api/v1/workers/health'), null, 2))),
})

const drain = defineCommand({
  meta: { name: 'drain', description: 'Stop sending new work to a host; running work finishes' },
  args: { ...apiArgs, id: { type: 'positional', required: true, description: 'worker id' } },
  run: ({ args }) =>
    guard(async () => {
      const w = await useGatewayApi(args.url)<WorkerRecord>(`/api/v1/workers/${encodeURIComponent(args.id)}/drain`, { method: 'POST' })
      console.log(`${w.worker_id} is draining; ${w.metadata.current_operations.length} operation(s) still running there`)
    }),
})

const undrain = defineCommand({
  meta: { name: 'undrain', description: 'Send new work to a drained host again' },
  args: { ...apiArgs, id: { type: 'positional', required: true, description: 'worker id' } },
  run: ({ args }) =>
    guard(async () => {
      const w = await useGatewayApi(args.url)<WorkerRecord>(`/api/v1/workers/${encodeURIComponent(args.id)}/undrain`, { method: 'POST' })
      console.log(args.json ? JSON.stringify(w, null, 2) : `${w.worker_id} takes new work again (${w.status})`)
    }),
})

const remove = defineCommand({
  meta: { name: 'remove', description: 'Deregister a host (its running operations are re-queued)' },
  args: { ...apiArgs, id: { type: 'positional', required: true, description: 'worker id' } },
  run: ({ args }) =>
    guard(async () =>
      console.log(JSON.stringify(await useGatewayApi(args.url)(`/api/v1/workers/${encodeURIComponent(args.id)}`, { method: 'DELETE' }))),
    ),
})

export default defineCommand({
  meta: { name: 'workers', description: 'Registered function hosts (list by default)' },
  subCommands: { list, health, drain, undrain, remove },
  // The default subcommand's flags, so `ktrdr workers --url X` parses (citty skips known value flags).
  args: list.args,
  default: 'list',
})
