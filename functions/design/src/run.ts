import type { FunctionContext } from '../../../runtime/function/index.ts'
import {
  compileDesign,
  designCatalog,
  designSchema,
  KtrdrError,
  parseDatasetKey,
  readMemorySummary,
  type DesignDraft,
} from '../../../trading/index.ts'
import { generateJson, llmRuntimeOptions, randomLlmSeed, resolveLlmModel, type GenerationStats } from '../../../trading/llm/index.ts'
import type { DesignInput } from './schema.ts'

export interface DesignAttempt {
  attempt: number
  ok: boolean
  /** Why the attempt was refused (parse error or the validator's errors), fed back to the next. */
  errors: string[]
  tokens_in: number
  tokens_out: number
  /** The sampling seed of this attempt (the input's seed + attempt − 1). */
  seed: number
}

export interface DesignResult {
  strategy_name: string
  yaml: string
  /** The market the strategy trains on (its first symbol and timeframe): the loop's data window needs no second validation. */
  market: { symbol: string; timeframe: string }
  resolved_features: string[]
  /** The sampling seed the run used (the input's, or the random one drawn): pass it again to repeat the run. */
  seed: number
  attempts: DesignAttempt[]
  attempt_count: number
  tokens_in: number
  tokens_out: number
  tokens_per_second: number
  first_token_ms: number
  model: string
  model_sha256: string
  /** The model was already loaded in this executor (no load cost). */
  warm: boolean
  load_ms: number
  hypothesis: string
  /** What memory the design was given: experiment ids and open hypothesis ids. */
  memory: { experiments: string[]; hypotheses: string[] }
}

/** `op_agent_design_20260101_101500_ab12cd34` → `design_20260101_101500_ab12cd34`: a retry of the same operation reuses it. */
export function designName(operationId: string): string {
  const m = /(\d{8}_\d{6}_[0-9a-f]{8})$/.exec(operationId)
  return m ? `design_${m[1]}` : `design_${operationId.replace(/[^A-Za-z0-9_]/g, '_').slice(-40)}`
}

const SYSTEM = [
  'You design neuro-fuzzy trading strategies for KTRDR.',
  'A strategy picks indicators (each enters the network either as fuzzy memberships over its scale or as a z-scored raw value),',
  'a small neural network, zigzag labels and a confidence threshold.',
  'Answer with one JSON object and nothing else. Prefer few, complementary indicators; state the hypothesis the design tests.',
].join(' ')

/** The user turn: the brief, what is allowed, what memory says, and why earlier attempts were refused. */
function prompt(input: DesignInput, space: { markets: string[] }, memory: MemoryView, refusals: string[][]): string {
  const lines = [`Brief: ${input.brief}`, '', `Markets with data (symbol timeframe): ${space.markets.join(', ')}`]
  const allowed = input.constraints.indicators?.map((t) => t.toLowerCase())
  lines.push('Indicators:')
  for (const e of designCatalog()) if (!allowed || allowed.includes(e.type)) lines.push(`- ${e.type}: ${e.about}`)
  if (input.constraints.max_features)
    lines.push(`At most ${input.constraints.max_features} features in total (fuzzy: one per membership; raw: one).`)
  if (memory.experiments.length) {
    lines.push('', 'Earlier experiments (newest first):')
    for (const e of memory.experiments)
      lines.push(
        `- ${e.id}: ${e.strategy}, verdict ${e.verdict}, sharpe ${e.sharpe ?? 'n/a'}, test accuracy ${e.test_accuracy ?? 'n/a'}, trades ${e.trades ?? 'n/a'}`,
      )
  }
  if (memory.open_hypotheses.length) {
    lines.push('', 'Open hypotheses (test one if it fits the brief):')
    for (const h of memory.open_hypotheses) lines.push(`- ${h.id}: ${h.text}`)
  }
  refusals.forEach((errors, i) => {
    lines.push('', `Attempt ${i + 1} was refused: ${errors.join('; ')}. Fix that.`)
  })
  return lines.join('\n')
}

type MemoryView = Awaited<ReturnType<typeof readMemorySummary>>

/** The symbols and timeframes that have data in the data mount, narrowed by the constraints. */
async function dataSpace(input: DesignInput, ctx: FunctionContext) {
  const pairs = (await ctx.storage.data.getKeys()).map((k) => parseDatasetKey(k.replace(/:/g, '/').split('/').pop()!)).filter((p) => !!p)
  const wantSymbols = input.constraints.symbols
  const wantTfs = input.constraints.timeframes as string[] | undefined
  const usable = pairs.filter((p) => (!wantSymbols || wantSymbols.includes(p.symbol)) && (!wantTfs || wantTfs.includes(p.timeframe)))
  if (usable.length === 0)
    throw new KtrdrError({
      code: 'DESIGN_NO_DATA',
      message: `No market data matches the constraints (symbols ${wantSymbols?.join(', ') ?? 'any'}, timeframes ${wantTfs?.join(', ') ?? 'any'}): load or generate data first`,
      details: { field: 'constraints' },
    })
  return { markets: [...new Set(usable.map((p) => `${p.symbol} ${p.timeframe}`))].sort() }
}

/**
 * brief (+ constraints, + memory) → a validated v3 strategy in the strategies mount. Generation is
 * held to the design grammar (trading/design), so the model cannot name an unknown indicator or an
 * out-of-range param; the compiled strategy then passes validateStrategy or the attempt is refused
 * and its errors go back to the model, at most max_attempts times.
 */
export async function runDesign(input: DesignInput, ctx: FunctionContext): Promise<DesignResult> {
  const model = await resolveLlmModel(input.model, { storage: ctx.storage, capabilities: ctx.host.capabilities })
  const runtime = llmRuntimeOptions(ctx.host.capabilities)
  const space = await dataSpace(input, ctx)
  const memory: MemoryView = input.use_memory ? await readMemorySummary(ctx.storage.memory) : { experiments: [], open_hypotheses: [] }
  let schema
  try {
    schema = designSchema({
      markets: space.markets,
      indicators: input.constraints.indicators,
      maxIndicators: input.constraints.max_indicators,
      modelTypes: input.constraints.model_type ? [input.constraints.model_type] : undefined,
    })
  } catch (error) {
    throw new KtrdrError({
      code: 'DESIGN_CONSTRAINTS_INVALID',
      message: `constraints.indicators: ${(error as Error).message}; the design catalog has ${designCatalog()
        .map((e) => e.type)
        .join(', ')}`,
      details: { field: 'constraints.indicators' },
    })
  }
  const name = input.strategy_name ?? designName(ctx.operationId)
  const attempts: DesignAttempt[] = []
  const refusals: string[][] = []
  const totals = { in: 0, out: 0, genMs: 0, outAfterFirst: 0 }
  let first: GenerationStats | null = null
  const seed = input.seed ?? randomLlmSeed()
  let maxTokens = input.max_tokens

  for (let attempt = 1; attempt <= input.max_attempts; attempt++) {
    ctx.signal.throwIfAborted()
    ctx.progress({
      percentage: ((attempt - 1) / input.max_attempts) * 90,
      current_step: `Designing with ${model.id} (attempt ${attempt}/${input.max_attempts})`,
      context: { attempt, max_attempts: input.max_attempts, model: model.id },
    })
    const out = await generateJson({
      model,
      runtime,
      schema,
      system: SYSTEM,
      prompt: prompt(input, space, memory, refusals),
      seed: seed + attempt - 1,
      temperature: input.temperature,
      maxTokens,
      signal: ctx.signal,
    })
    first ??= out.stats
    totals.in += out.stats.tokens_in
    totals.out += out.stats.tokens_out
    if (out.stats.tokens_per_second > 0) {
      totals.genMs += ((out.stats.tokens_out - 1) * 1000) / out.stats.tokens_per_second
      totals.outAfterFirst += out.stats.tokens_out - 1
    }
    let errors: string[]
    let compiled: ReturnType<typeof compileDesign> | null = null
    if (!out.ok) {
      errors = [out.error]
      maxTokens = Math.min(8192, Math.ceil(maxTokens * 1.5)) // cut off: more room next time
    } else {
      const draft = out.value as DesignDraft
      compiled = compileDesign(draft, { name, maxFeatures: input.constraints.max_features, epochs: input.epochs })
      errors = [...compiled.errors]
    }
    attempts.push({
      attempt,
      ok: errors.length === 0,
      errors,
      tokens_in: out.stats.tokens_in,
      tokens_out: out.stats.tokens_out,
      seed: seed + attempt - 1,
    })
    if (errors.length > 0 || !compiled || !out.ok) {
      ctx.logger.info(`Design attempt ${attempt} refused: ${errors.join('; ')}`)
      refusals.push(errors)
      continue
    }
    await ctx.storage.strategies.setItem(`${name}.yaml`, compiled.yaml)
    ctx.progress({ percentage: 100, current_step: `Designed ${name} in ${attempt} attempt(s)` })
    const draft = out.value as DesignDraft
    return {
      strategy_name: name,
      yaml: compiled.yaml,
      market: {
        symbol: compiled.validation.strategy!.training_data.symbols[0],
        timeframe: compiled.validation.strategy!.training_data.timeframes[0],
      },
      resolved_features: compiled.validation.resolved_features,
      seed,
      attempts,
      attempt_count: attempt,
      tokens_in: totals.in,
      tokens_out: totals.out,
      tokens_per_second: totals.genMs > 0 ? Math.round((totals.outAfterFirst * 1000 * 10) / totals.genMs) / 10 : 0,
      first_token_ms: first.first_token_ms,
      model: model.id,
      model_sha256: model.sha256,
      warm: first.warm,
      load_ms: first.load_ms,
      hypothesis: typeof draft.hypothesis === 'string' ? draft.hypothesis : '',
      memory: { experiments: memory.experiments.map((e) => e.id), hypotheses: memory.open_hypotheses.map((h) => h.id) },
    }
  }
  throw new KtrdrError({
    code: 'DESIGN_REFUSED',
    message: `${model.id} produced no valid strategy in ${input.max_attempts} attempt(s); last refusal: ${refusals.at(-1)?.join('; ')}`,
    details: { seed, attempts, tokens_in: totals.in, tokens_out: totals.out, model: model.id, model_sha256: model.sha256 },
  })
}
