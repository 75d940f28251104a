// The files `ktrdr fn new` writes, per template. Each one builds with `ktrdr fn build` (type check
// included) and passes its own test as generated (runtime/cli/test/fn-new.test.ts proves it for
// every template). They follow the project's prettier style, so `npm run check` takes them as they are.

export const FUNCTION_TEMPLATES = ['echo', 'job', 'stream'] as const
export type FunctionTemplate = (typeof FUNCTION_TEMPLATES)[number]

export interface TemplateContext {
  name: string
  /** Import specifier of the runtime's function entry from the function folder, and from its test folder. */
  runtime: string
  testRuntime: string
}

export interface TemplateFiles {
  description: string
  index: string
  test: string
}

/** The function's module from its test folder (a constant, so no import scanner takes it for one of this file). */
const INDEX_FROM_TEST = ['..', 'index.ts'].join('/')

const echo = ({ name, runtime, testRuntime }: TemplateContext): TemplateFiles => ({
  description: 'Answers with the message it is sent, as many times as asked',
  index: `import { z } from 'zod'
import { defineFunction } from '${runtime}'

export default defineFunction({
  name: '${name}',
  description: 'Answers with the message it is sent, as many times as asked',
  // The gateway validates every invocation against this schema's JSON Schema before it queues it.
  input: z.object({
    message: z.string().min(1).max(10_000),
    times: z.number().int().min(1).max(100).default(1),
  }),
  timeout_seconds: 60,
  max_attempts: 1,
  async run(input, ctx) {
    ctx.logger.info(\`Echoing \${input.times} time(s)\`)
    return { echoed: Array.from({ length: input.times }, () => input.message), operation_id: ctx.operationId }
  },
})
`,
  test: `import { describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '${testRuntime}'
import fn from '${INDEX_FROM_TEST}'

describe('${name}', () => {
  it('answers with its message', async () => {
    const { result, cleanup } = await runFunctionInProcess(fn, { message: 'hi', times: 2 })
    expect(result.echoed).toEqual(['hi', 'hi'])
    await cleanup()
  })

  it('refuses bad input with 422 INPUT_INVALID, as the gateway does', async () => {
    await expect(runFunctionInProcess(fn, { message: '' })).rejects.toMatchObject({ statusCode: 422, code: 'INPUT_INVALID' })
  })
})
`,
})

const job = ({ name, runtime, testRuntime }: TemplateContext): TemplateFiles => ({
  description: 'A long job: steps with progress, cancellable, its result stored in the results mount',
  index: `import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { defineFunction } from '${runtime}'

export default defineFunction({
  name: '${name}',
  description: 'A long job: steps with progress, cancellable, its result stored in the results mount',
  input: z.object({
    steps: z.number().int().min(1).max(100_000).default(10),
    step_ms: z.number().int().min(0).max(60_000).default(100),
  }),
  // Only what is declared is reachable: results, under ${name}/ (anything else is STORAGE_SCOPE_DENIED).
  storage: { results: { access: 'write', prefixes: ['${name}'] } },
  timeout_seconds: 3600,
  max_attempts: 1,
  async run(input, ctx) {
    let total = 0
    for (let step = 1; step <= input.steps; step++) {
      // Cancel and the deadline abort ctx.signal: wait on it, and check it in every loop.
      if (input.step_ms > 0) await sleep(input.step_ms, undefined, { signal: ctx.signal })
      ctx.signal.throwIfAborted()
      total += step
      ctx.progress({ percentage: (step / input.steps) * 100, current_step: \`Step \${step}/\${input.steps}\`, context: { step, total } })
    }
    const key = \`${name}:\${ctx.operationId}.json\`
    await ctx.storage.results.setItem(key, { steps: input.steps, total })
    ctx.logger.info(\`Stored \${key}\`)
    return { total, results_key: key }
  },
})
`,
  test: `import { describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '${testRuntime}'
import fn from '${INDEX_FROM_TEST}'

describe('${name}', () => {
  it('reports progress per step and stores its result', async () => {
    const { result, progress, storage, cleanup } = await runFunctionInProcess(fn, { steps: 4, step_ms: 0 })
    expect(result.total).toBe(10)
    expect(progress.map((p) => p.percentage)).toEqual([25, 50, 75, 100])
    expect(await storage.results.getItem(result.results_key)).toEqual({ steps: 4, total: 10 })
    await cleanup()
  })

  it('stops when cancelled', async () => {
    const controller = new AbortController()
    const run = runFunctionInProcess(fn, { steps: 1000, step_ms: 50 }, { signal: controller.signal, onProgress: () => controller.abort() })
    await expect(run).rejects.toThrow()
  })
})
`,
})

const stream = ({ name, runtime, testRuntime }: TemplateContext): TemplateFiles => ({
  description: 'Streams items as it makes them: each one is an event on the operation while it runs',
  index: `import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { defineFunction } from '${runtime}'

export default defineFunction({
  name: '${name}',
  description: 'Streams items as it makes them: each one is an event on the operation while it runs',
  input: z.object({
    count: z.number().int().min(1).max(10_000).default(5),
    interval_ms: z.number().int().min(0).max(60_000).default(200),
  }),
  timeout_seconds: 600,
  max_attempts: 1,
  async run(input, ctx) {
    const items: Array<{ index: number; square: number }> = []
    for (let index = 1; index <= input.count; index++) {
      if (input.interval_ms > 0) await sleep(input.interval_ms, undefined, { signal: ctx.signal })
      ctx.signal.throwIfAborted()
      const item = { index, square: index * index }
      items.push(item)
      // Each item travels at once on the operation's event stream (ktrdr ops watch, GET …/events)
      // and into its log (ktrdr ops logs), before the result exists.
      ctx.progress({ percentage: (index / input.count) * 100, current_step: \`Item \${index}/\${input.count}\`, context: { item } })
      ctx.logger.info(\`item \${index}: \${item.square}\`)
    }
    return { count: items.length, items }
  },
})
`,
  test: `import { describe, expect, it } from 'vitest'
import { runFunctionInProcess } from '${testRuntime}'
import fn from '${INDEX_FROM_TEST}'

describe('${name}', () => {
  it('sends every item as it is made, in order, then returns them all', async () => {
    const seen: unknown[] = []
    const { result, cleanup } = await runFunctionInProcess(
      fn,
      { count: 3, interval_ms: 0 },
      { onProgress: (p) => seen.push(p.context?.item) },
    )
    expect(result.items.map((i) => i.square)).toEqual([1, 4, 9])
    expect(seen).toEqual(result.items)
    await cleanup()
  })
})
`,
})

const TEMPLATES: Record<FunctionTemplate, (ctx: TemplateContext) => TemplateFiles> = { echo, job, stream }

export function renderTemplate(template: FunctionTemplate, ctx: TemplateContext): TemplateFiles {
  return TEMPLATES[template](ctx)
}
