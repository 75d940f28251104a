import { defineFunction } from '../../runtime/function/index.ts'
import { runAssess } from './src/run.ts'
import { assessInputSchema } from './src/schema.ts'

/**
 * Judges one research experiment: facts computed from the training and backtest results (gap,
 * edge over the majority class, trades, drawdown, Sharpe, return beside buy-and-hold and random
 * entries), then a local LLM's verdict, observations, hypotheses and limitations under a grammar
 * whose verdicts are only those the facts allow. Runs on hosts that advertise `llm`.
 */
export default defineFunction({
  name: 'assess',
  description:
    'Assess an experiment: deterministic facts plus a local LLM verdict (strong_signal, weak_signal, no_signal, overfit) under a grammar',
  operation_type: 'agent_assessment',
  input: assessInputSchema,
  placement: { requires: { llm: true } },
  storage: { models: { access: 'read', prefixes: ['llm'] } },
  timeout_seconds: 900,
  max_attempts: 3,
  run: (input, ctx) => runAssess(input, ctx),
})
