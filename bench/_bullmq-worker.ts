// The BullMQ side of the no-op rows: a Worker process running a no-op processor (returns the job's
// data, like echo returns its input). Started by peers.bench.ts with REDIS_PORT, QUEUE, CONCURRENCY,
// and SANDBOXED=1 for BullMQ's sandboxed processor: the same no-op (bench/_bullmq-noop.mjs) in child
// processes of BullMQ's pool, one job per child at a time.
import { fileURLToPath } from 'node:url'
import { Worker } from 'bullmq'

const processor =
  process.env.SANDBOXED === '1' ? fileURLToPath(new URL('_bullmq-noop.mjs', import.meta.url)) : async (job: { data: unknown }) => job.data
const worker = new Worker(process.env.QUEUE ?? 'noop', processor, {
  connection: { host: '127.0.0.1', port: Number(process.env.REDIS_PORT) },
  concurrency: Number(process.env.CONCURRENCY ?? 16),
})
await worker.waitUntilReady()
process.send?.('ready')
// The bench closes the IPC channel when it is done with us.
process.once('disconnect', () => {
  void worker.close().finally(() => process.exit(0))
})
