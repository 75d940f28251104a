import { z } from 'zod'
import { LLM_SEED_MAX } from '../../../trading/index.ts'

const gate = z
  .object({ passed: z.boolean(), bypassed: z.boolean().default(false), reasons: z.array(z.string().max(500)).max(20).default([]) })
  .nullable()

export const assessInputSchema = z.object({
  strategy_name: z.string().min(1).max(128),
  brief: z.string().max(4000).nullable().optional(),
  /** The train operation's result (null when training did not run). */
  training: z.record(z.string(), z.unknown()).nullable().default(null),
  /** The backtest operation's result (null when a gate stopped the loop before it). */
  backtest: z.record(z.string(), z.unknown()).nullable().default(null),
  gates: z.object({ training: gate.optional(), backtest: gate.optional() }).prefault({}),
  /** Why the loop went straight to assessment (a gate's rejection, a failed phase). */
  reason: z.string().max(2000).nullable().optional(),
  /** A model in the models mount (llm/<name>.gguf) or the host's own; default: the host's. */
  model: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
    .optional(),
  /**
   * Sampling seed: the same seed, model, prompt and host threads give the same output. Default: a
   * random one, which the result (or the refusal's details) records so the run can be repeated.
   */
  seed: z.number().int().min(0).max(LLM_SEED_MAX).optional(),
  temperature: z.number().min(0).max(2).default(0.4),
  // A real model stops long before; the tiny test model writes one token per byte of noise.
  max_tokens: z.number().int().min(64).max(8192).default(2048),
})

export type AssessInput = z.infer<typeof assessInputSchema>
