import type { FunctionContext } from '../../../runtime/function/index.ts'
import { assessmentFacts, KtrdrError, type AssessmentFacts, type Verdict } from '../../../trading/index.ts'
import { generateJson, llmRuntimeOptions, randomLlmSeed, resolveLlmModel, type GenerationStats } from '../../../trading/llm/index.ts'
import type { AssessInput } from './schema.ts'

export interface AssessResult {
  verdict: Verdict
  observations: string[]
  hypotheses: string[]
  limitations: string[]
  /** Computed from the results, not by the model; the verdict is one of facts.allowed_verdicts. */
  facts: AssessmentFacts
  model: string
  model_sha256: string
  attempts: number
  /** The sampling seed the run used (the input's, or the random one drawn): pass it again to repeat the run. */
  seed: number
  stats: GenerationStats
}

const SYSTEM = [
  'You assess one experiment of a trading research loop.',
  'You are given facts computed from its training and backtest; your verdict must follow from them, and only the allowed verdicts can be written.',
  'Observations cite the facts. Hypotheses are new, testable ideas for the next experiment. Limitations say what the evidence cannot show.',
  'Answer with one JSON object.',
].join(' ')

const text = (items: unknown): string[] =>
  (Array.isArray(items) ? items : [])
    .map((s) =>
      String(s)
        .replace(/[^\P{C}]/gu, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 300),
    )
    .filter(Boolean)

/**
 * Facts first (deterministic), then the model's reading of them under a grammar whose verdict enum
 * is exactly the verdicts the facts allow. Both are returned and both go into the experiment record.
 */
export async function runAssess(input: AssessInput, ctx: FunctionContext): Promise<AssessResult> {
  const model = await resolveLlmModel(input.model, { storage: ctx.storage, capabilities: ctx.host.capabilities })
  const facts = assessmentFacts(input.training, input.backtest, {
    training: input.gates.training ?? null,
    backtest: input.gates.backtest ?? null,
  })
  const schema = {
    type: 'object',
    properties: {
      verdict: { enum: facts.allowed_verdicts },
      observations: { type: 'array', items: { type: 'string', maxLength: 160 }, minItems: 1, maxItems: 3 },
      hypotheses: { type: 'array', items: { type: 'string', maxLength: 160 }, minItems: 1, maxItems: 2 },
      limitations: { type: 'array', items: { type: 'string', maxLength: 160 }, maxItems: 2 },
    },
    required: ['verdict', 'observations', 'hypotheses', 'limitations'],
    additionalProperties: false,
  } as const
  const { gates: _gates, ruled_out: ruledOut, allowed_verdicts: allowed, ...numbers } = facts
  const prompt = [
    `Strategy: ${input.strategy_name}`,
    input.brief ? `Brief: ${input.brief}` : null,
    input.reason ? `The loop went straight to assessment: ${input.reason}` : null,
    `Facts: ${JSON.stringify(numbers)}`,
    `Gates: ${JSON.stringify(facts.gates)}`,
    `Allowed verdicts: ${allowed.join(', ')}`,
    ...Object.entries(ruledOut).map(([v, why]) => `Not ${v}: ${why}`),
  ]
    .filter(Boolean)
    .join('\n')
  ctx.progress({ percentage: 10, current_step: `Assessing with ${model.id}`, context: { model: model.id, allowed_verdicts: allowed } })
  const seed = input.seed ?? randomLlmSeed()
  let last = ''
  let maxTokens = input.max_tokens
  // A cut-off answer is the one way the grammar's output can fail to parse: try again with more
  // room, bounded.
  for (let attempt = 1; attempt <= 3; attempt++) {
    ctx.signal.throwIfAborted()
    const out = await generateJson({
      model,
      runtime: llmRuntimeOptions(ctx.host.capabilities),
      schema,
      system: SYSTEM,
      prompt,
      seed: seed + attempt - 1,
      temperature: input.temperature,
      maxTokens,
      signal: ctx.signal,
    })
    if (!out.ok) {
      last = out.error
      maxTokens = Math.min(8192, Math.ceil(maxTokens * 1.5))
      continue
    }
    const v = out.value as { verdict: Verdict; observations: unknown; hypotheses: unknown; limitations: unknown }
    ctx.progress({ percentage: 100, current_step: `Verdict: ${v.verdict}` })
    return {
      verdict: v.verdict,
      observations: text(v.observations),
      hypotheses: text(v.hypotheses),
      limitations: text(v.limitations),
      facts,
      model: model.id,
      model_sha256: model.sha256,
      attempts: attempt,
      seed,
      stats: out.stats,
    }
  }
  throw new KtrdrError({
    code: 'ASSESS_REFUSED',
    message: `${model.id} produced no complete assessment in 3 attempts (${last}); raise max_tokens`,
    details: { seed, facts },
  })
}
