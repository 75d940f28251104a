import { z } from 'zod'
import { LLM_SEED_MAX, TIMEFRAMES } from '../../../trading/index.ts'

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, ".", "_" or "-"')

export const designInputSchema = z.object({
  /** What to look for, in a researcher's words. */
  brief: z.string().trim().min(1, 'must not be empty').max(4000),
  constraints: z
    .object({
      symbols: z.array(z.string().min(1).max(32)).min(1).max(50).optional(),
      timeframes: z.array(z.enum(TIMEFRAMES)).min(1).optional(),
      /** Indicator types the design may use (default: the whole design catalog). */
      indicators: z.array(z.string().min(1).max(64)).min(1).max(64).optional(),
      max_indicators: z.number().int().min(1).max(8).default(4),
      max_features: z.number().int().min(1).max(256).optional(),
      model_type: z.enum(['mlp', 'lstm', 'gru']).optional(),
    })
    .prefault({}),
  /** A model in the models mount (llm/<name>.gguf) or the host's own; default: the host's. */
  model: name.optional(),
  /** Read prior experiments and open hypotheses from the memory mount. */
  use_memory: z.boolean().default(true),
  /** Name to store the strategy under (default design_<the operation's time and id>). */
  strategy_name: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/)
    .optional(),
  /** Attempts when the validator refuses a design (its errors are fed back each time). */
  max_attempts: z.number().int().min(1).max(5).default(3),
  /**
   * Sampling seed: the same seed, model, prompt and host threads give the same output. Default: a
   * random one, which the result (or the refusal's details) records so the run can be repeated.
   */
  seed: z.number().int().min(0).max(LLM_SEED_MAX).optional(),
  temperature: z.number().min(0).max(2).default(0.7),
  max_tokens: z.number().int().min(64).max(8192).default(2048),
  /** training.epochs written into the strategy (the caller's compute budget). */
  epochs: z.number().int().min(1).max(1000).default(5),
})

export type DesignInput = z.infer<typeof designInputSchema>
