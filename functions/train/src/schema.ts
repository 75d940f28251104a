import { z } from 'zod'

const TIMEFRAME = z.enum(['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w'])

/**
 * Input of the train function; also the body of POST /api/v1/trainings/start. Strict: an unknown
 * key (`epoch` for `epochs`) is refused with a hint instead of silently training with the default.
 */
export const trainInputSchema = z
  .strictObject({
    strategy_yaml: z.string().min(1).max(1_000_000).optional().describe('Strategy YAML inline'),
    strategy_name: z.string().min(1).max(200).optional().describe('Strategy stored in the strategies mount (<name>.yaml)'),
    symbols: z.array(z.string().min(1).max(32)).min(1).max(100).optional().describe('Override training_data.symbols'),
    timeframes: z.array(TIMEFRAME).min(1).max(8).optional().describe('Override training_data.timeframes; the first is the base timeframe'),
    start_date: z.string().min(1).max(40).optional(),
    end_date: z.string().min(1).max(40).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
    // Placement (GPU hosts first, or only) is the invocation envelope's prefer_gpu / require_gpu;
    // this flag decides the TensorFlow.js backend on the host that got the job.
    prefer_gpu: z.boolean().default(true).describe('Use tfjs-node-gpu when it is installed and a CUDA device is present'),
    epochs: z.number().int().min(1).max(100_000).optional().describe('Override training.epochs (tests, demos)'),
    batch_size: z.number().int().min(1).max(65_536).optional().describe('Override training.batch_size'),
    checkpoint_every: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe('Epochs between checkpoints (default KTRDR_CHECKPOINT_EPOCH_INTERVAL or 10)'),
    strict_labels: z
      .boolean()
      .default(false)
      .describe(
        'Refuse degenerate labels (a split with one class, a rare class, too few zigzag legs) with 422 LABELS_DEGENERATE instead of a warning: the training gate of a research loop',
      ),
    training_path: z
      .enum(['auto', 'fused', 'tfjs'])
      .default('auto')
      .describe(
        'Who runs the optimisation steps: auto (fused CPU trainer for MLPs on wasm/cpu backends, tfjs kernels otherwise; host default KTRDR_TRAIN_PATH), fused, or tfjs',
      ),
    resume: z.boolean().default(false).describe("Continue from this operation's checkpoint (implied on a retry attempt)"),
  })
  .refine((v) => !!v.strategy_yaml !== !!v.strategy_name, { message: 'Pass exactly one of strategy_yaml or strategy_name' })
  // The same rule in the JSON Schema of the manifest, so the gateway refuses it before a host is involved.
  .meta({ oneOf: [{ required: ['strategy_yaml'] }, { required: ['strategy_name'] }] })

export type TrainInput = z.output<typeof trainInputSchema>
