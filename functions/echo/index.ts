import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { defineFunction } from '../../runtime/function/index.ts'

// Read once: a uname(2) per call was an eighth of a warm call's main-thread time in its executor
// (CPU profile of a lone executor), and the machine's name does not change under a running process.
const HOSTNAME = hostname()

/**
 * The runtime's test function: echoes its input, reports one progress update per step and can
 * misbehave on request, so tests, benchmarks and the README demo exercise a real bundle.
 */
export default defineFunction({
  name: 'echo',
  description: 'Echoes its input with progress and a log line per step; can print, throw, exit, hang or run out of memory on request',
  operation_type: 'dummy',
  input: z.object({
    message: z.string().max(10_000).optional(),
    delay_ms: z.number().int().min(0).max(3_600_000).default(0),
    steps: z.number().int().min(0).max(10_000).default(0),
    fail: z.enum(['throw', 'exit', 'hang', 'oom']).optional(),
    /** Written to stdout and to stderr (one line each) before the first step: tests of operation logs. */
    print: z.string().max(10_000).optional(),
    /** Keep running after cancel (tests that the host kills such a function). */
    ignore_abort: z.boolean().default(false),
  }),
  timeout_seconds: 3600,
  max_attempts: 1,
  async run(input, ctx) {
    const started = Date.now()
    const stepMs = input.steps > 0 ? input.delay_ms / input.steps : input.delay_ms
    // Read only when it waits: ctx.signal is made on first read, and a call that returns at once
    // (the no-op of bench/peers.bench.ts) needs none.
    const waits = input.steps > 0 || stepMs > 0
    const signal = input.ignore_abort || !waits ? undefined : ctx.signal
    if (input.print !== undefined) {
      console.log(input.print)
      console.error(input.print)
    }
    for (let step = 1; step <= input.steps; step++) {
      if (stepMs > 0) await sleep(stepMs, undefined, { signal })
      signal?.throwIfAborted()
      ctx.logger.info(`Step ${step}/${input.steps}`)
      ctx.progress({
        percentage: (step / input.steps) * 100,
        current_step: `Step ${step}/${input.steps}`,
        context: { step, steps: input.steps },
      })
    }
    if (input.steps === 0 && stepMs > 0) await sleep(stepMs, undefined, { signal })
    if (input.fail === 'throw') throw new Error('echo was asked to throw')
    if (input.fail === 'exit') process.exit(3)
    if (input.fail === 'hang')
      await new Promise(() => {
        setInterval(() => {}, 1000)
      })
    if (input.fail === 'oom') {
      const hog: number[][] = []
      for (;;) hog.push(Array.from({ length: 1_000_000 }, (_, i) => i))
    }
    return {
      message: input.message ?? null,
      input,
      operation_id: ctx.operationId,
      attempt: ctx.attempt,
      worker_id: ctx.host.workerId,
      hostname: HOSTNAME,
      pid: process.pid,
      elapsed_ms: Date.now() - started,
    }
  },
})
