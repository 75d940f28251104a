// The BullMQ side of the no-op rows: a Worker process running a no-op processor (returns the job's
// data, like echo returns its input). Started by peers.bench.ts with REDIS_PORT, QUEUE, CONCURRENCY.
import { Worker } from 'bullmq'

const worker = new Worker(process.env.QUEUE ?? 'noop', async (job) => job.data, {
  connection: { host: '127.0.0.1', port: Number(process.env.REDIS_PORT) },
  concurrency: Number(process.env.CONCURRENCY ?? 16),
})
await worker.waitUntilReady()
process.send?.('ready')
// The bench closes the IPC channel when it is done with us.
process.once('disconnect', () => {
  void worker.close().finally(() => process.exit(0))
})
