import { defineFunction } from '../../runtime/function/index.ts'
import { runDesign } from './src/run.ts'
import { designInputSchema } from './src/schema.ts'

/**
 * Designs a v3 strategy from a natural-language brief with a local LLM (node-llama-cpp) under the
 * design grammar, validates it, feeds refusals back (bounded), and stores it in the strategies
 * mount. Runs only on hosts that advertise `llm`; the model stays loaded in the warm executor.
 */
export default defineFunction({
  name: 'design',
  description:
    'Design a v3 strategy from a brief with a local LLM under a grammar derived from the strategy grammar and indicator registry',
  operation_type: 'agent_design',
  input: designInputSchema,
  placement: { requires: { llm: true } },
  storage: {
    data: 'read',
    memory: 'read',
    models: { access: 'read', prefixes: ['llm'] },
    strategies: 'write',
  },
  timeout_seconds: 1800,
  // A host lost mid-design re-runs it elsewhere; the strategy name comes from the operation id, so
  // a re-run overwrites its own draft rather than leaving a second one.
  max_attempts: 3,
  run: (input, ctx) => runDesign(input, ctx),
})
