// The no-op processor of BullMQ's sandboxed rows (bench/_bullmq-worker.ts with SANDBOXED=1): BullMQ
// runs it in a child process of its pool, one job per child at a time, as a KTRDR host runs an
// invocation in an executor of its own. Returns the job's data, like the in-process processor.
export default async function noop(job) {
  return job.data
}
