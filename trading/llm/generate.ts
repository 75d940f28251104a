import type { GbnfJsonSchema } from 'node-llama-cpp'
import { KtrdrError } from '../../runtime/protocol/index.ts'
import { jsonGrammar, loadLlm, type LlmModelRef, type LlmRuntimeOptions } from './runtime.ts'

export interface GenerateJsonOptions {
  model: LlmModelRef
  runtime: LlmRuntimeOptions
  /** The JSON schema (node-llama-cpp's GBNF subset: no numeric bounds, enums instead) that constrains every token. */
  schema: object
  system: string
  prompt: string
  /** Sampling seed: the same seed, prompt and model give the same output. */
  seed?: number
  temperature?: number
  maxTokens?: number
  signal?: AbortSignal
}

export interface GenerationStats {
  model: string
  model_sha256: string
  tokens_in: number
  tokens_out: number
  /** ms from the start of the call to the first generated token (prompt evaluation included). */
  first_token_ms: number
  total_ms: number
  /** Generated tokens per second, after the first token. */
  tokens_per_second: number
  /** ms spent loading the model in this call (0 when the executor had it warm). */
  load_ms: number
  warm: boolean
}

export type GenerateJsonResult =
  | { ok: true; value: unknown; text: string; stats: GenerationStats }
  /** The output did not parse or did not match the schema (cut off at maxTokens, usually). */
  | { ok: false; error: string; text: string; stats: GenerationStats }

/**
 * One chat turn under a JSON-schema grammar: the model can only emit text the grammar accepts,
 * so enums, required keys and array bounds hold by construction. What the grammar cannot say
 * (numeric ranges, cross-field rules) is the caller's to check.
 */
export async function generateJson(options: GenerateJsonOptions): Promise<GenerateJsonResult> {
  const started = performance.now()
  const llm = await loadLlm(options.model, options.runtime)
  const grammar = await jsonGrammar(llm.model.llama, options.schema as GbnfJsonSchema)
  const { LlamaChatSession } = await import('node-llama-cpp')
  const tokensIn = llm.model.tokenize(`${options.system}\n${options.prompt}`).length
  // Never ask for more than the context holds after the prompt (chat template overhead included):
  // past it llama.cpp would shift the context and lose the prompt under the grammar.
  const room = Math.max(16, llm.context.contextSize - tokensIn - 64)
  const maxTokens = Math.min(options.maxTokens ?? 1024, room)
  const sequence = llm.context.getSequence()
  let firstToken = 0
  let tokensOut = 0
  let text = ''
  try {
    const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt: options.system, autoDisposeSequence: false })
    try {
      text = await session.prompt(options.prompt, {
        grammar,
        maxTokens,
        temperature: options.temperature ?? 0.7,
        seed: options.seed,
        signal: options.signal,
        onToken(tokens) {
          if (tokensOut === 0) firstToken = performance.now()
          tokensOut += tokens.length
        },
      })
    } finally {
      session.dispose({ disposeSequence: false })
    }
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason ?? error
    throw new KtrdrError({
      code: 'LLM_GENERATION_FAILED',
      message: `Generation with ${options.model.id} failed: ${(error as Error).message}`,
    })
  } finally {
    sequence.dispose()
  }
  const ended = performance.now()
  const stats: GenerationStats = {
    model: options.model.id,
    model_sha256: options.model.sha256,
    tokens_in: tokensIn,
    tokens_out: tokensOut,
    first_token_ms: round((firstToken || ended) - started),
    total_ms: round(ended - started),
    tokens_per_second: tokensOut > 1 && firstToken ? round(((tokensOut - 1) * 1000) / Math.max(1e-3, ended - firstToken)) : 0,
    load_ms: round(llm.loadMs),
    warm: llm.warm,
  }
  // The grammar already held every token to the schema; what can still go wrong is a cut-off at
  // maxTokens. JSON.parse, not grammar.parse: the grammar bounds strings in code points and the
  // schema check in UTF-16 units, so an astral character made valid output "too long".
  try {
    return { ok: true, value: JSON.parse(text), text, stats }
  } catch (error) {
    return { ok: false, error: `output is not valid JSON for the schema (${(error as Error).message})`, text, stats }
  }
}

const round = (n: number) => Math.round(n * 10) / 10
