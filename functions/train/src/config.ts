// What the training loop runs with, from the strategy's resolved `training` section (docs/domain.md#training-section).
// KTRDR accepts early_stopping, lr_scheduler, gradient_clip, optimizer and weight_decay but drops
// them [QUIRK 1]; here they are all wired through. Defaults the parser does not own live here.
import type { TrainingConfig as StrategyTraining, TrainingOptionKey, TrainingOptionSource } from '../../../trading/index.ts'
import { envNumber } from '../../../runtime/protocol/index.ts'

export type LossName = StrategyTraining['loss']
export type OptimizerName = 'adam' | 'sgd' | 'rmsprop'
export type LrSchedulerConfig =
  | { type: 'step'; step_size: number; gamma: number }
  | { type: 'exponential'; gamma: number }
  | { type: 'reduce_on_plateau'; factor: number; patience: number; min_lr: number }

export interface EarlyStoppingConfig {
  patience: number
  min_delta: number
  monitor: 'val_loss' | 'val_accuracy'
}

export interface LoopConfig {
  epochs: number
  learning_rate: number
  batch_size: number
  loss: LossName
  focal_gamma: number
  huber_delta: number
  optimizer: OptimizerName
  /** Decoupled (AdamW-style): w ← w·(1 − lr·wd) after each step, kernels only (not biases). */
  weight_decay: number
  /** Global-norm clip; 0 disables. */
  gradient_clip: number
  early_stopping: EarlyStoppingConfig | null
  lr_scheduler: LrSchedulerConfig | null
  data_split: { train: number; validation: number; test: number }
  /** Epochs between checkpoints (input checkpoint_every, env KTRDR_CHECKPOINT_EPOCH_INTERVAL, default 10). */
  checkpoint_every: number
  /** Also checkpoint at an epoch end when this long passed since the previous one (env KTRDR_CHECKPOINT_TIME_INTERVAL_SECONDS, default 300; only after the first checkpoint, docs/domain.md#training-checkpoints). */
  checkpoint_seconds: number
}

export interface LoopOverrides {
  epochs?: number
  checkpoint_every?: number
  batch_size?: number
}

/** KTRDR's trainer hard-codes Adam(weight_decay=1e-4) for classification when the strategy sets none (docs/domain.md#optimisation). */
export const DEFAULT_WEIGHT_DECAY = 1e-4

/** Where a setting of the loop came from: the invocation's input, else the strategy (docs/decisions.md#model-training). */
export type LoopSettingSource = 'input' | TrainingOptionSource

/** Input > strategy (training, then model.training) > default, per setting the strategy can carry. */
export function loopSettingSources(
  training: Pick<StrategyTraining, 'sources'>,
  overrides: LoopOverrides = {},
): Record<TrainingOptionKey, LoopSettingSource> {
  const out = { ...training.sources } as Record<TrainingOptionKey, LoopSettingSource>
  if (overrides.epochs !== undefined) out.epochs = 'input'
  if (overrides.batch_size !== undefined) out.batch_size = 'input'
  return out
}

const SOURCE_WORDS: Record<LoopSettingSource, string> = {
  input: 'input',
  training: 'strategy training',
  'model.training': 'strategy model.training',
  default: 'default',
}

/** One log line: every strategy-settable value the loop runs with and who set it. */
export function describeLoopSettings(config: LoopConfig, sources: Record<TrainingOptionKey, LoopSettingSource>): string {
  const es = config.early_stopping
  const lr = config.lr_scheduler
  const shown: Record<TrainingOptionKey, string> = {
    epochs: String(config.epochs),
    batch_size: String(config.batch_size),
    learning_rate: String(config.learning_rate),
    optimizer: config.optimizer,
    weight_decay: String(config.weight_decay),
    gradient_clip: config.gradient_clip ? String(config.gradient_clip) : 'off',
    early_stopping: es ? `patience ${es.patience} min_delta ${es.min_delta} on ${es.monitor}` : 'off',
    lr_scheduler: lr ? lr.type : 'off',
  }
  const parts = (Object.keys(shown) as TrainingOptionKey[]).map((k) => `${k} ${shown[k]} (${SOURCE_WORDS[sources[k]]})`)
  return `Training settings: ${parts.join(', ')}`
}

export function resolveLoopConfig(
  training: StrategyTraining,
  outputKind: 'classification' | 'regression',
  options: { overrides?: LoopOverrides; env?: NodeJS.ProcessEnv } = {},
): LoopConfig {
  const env = options.env ?? process.env
  const o = options.overrides ?? {}
  const regression = outputKind === 'regression'
  const s = training.lr_scheduler
  const lr_scheduler: LrSchedulerConfig | null = !s
    ? null
    : s.type === 'step'
      ? { type: 'step', step_size: s.step_size, gamma: s.gamma }
      : s.type === 'exponential'
        ? { type: 'exponential', gamma: s.gamma }
        : { type: 'reduce_on_plateau', factor: s.factor, patience: s.patience, min_lr: s.min_lr }
  const es = training.early_stopping
  const envInterval = envNumber(env, 'KTRDR_CHECKPOINT_EPOCH_INTERVAL') ?? 0
  const envSeconds = envNumber(env, 'KTRDR_CHECKPOINT_TIME_INTERVAL_SECONDS') ?? 0
  return {
    epochs: o.epochs ?? training.epochs,
    learning_rate: training.learning_rate,
    batch_size: o.batch_size ?? training.batch_size,
    loss: training.loss,
    focal_gamma: training.focal_gamma,
    huber_delta: training.huber_delta,
    // adamw = adam here: weight decay is always decoupled.
    optimizer: training.optimizer === 'adamw' ? 'adam' : training.optimizer,
    // KTRDR forces weight decay off for regression; kept.
    weight_decay: regression ? 0 : training.sources.weight_decay !== 'default' ? training.weight_decay : DEFAULT_WEIGHT_DECAY,
    gradient_clip: training.gradient_clip ?? 0,
    early_stopping: es && es.enabled ? { patience: es.patience, min_delta: es.min_delta, monitor: es.monitor } : null,
    lr_scheduler,
    data_split: training.data_split,
    checkpoint_every: o.checkpoint_every ?? (Number.isInteger(envInterval) && envInterval > 0 ? envInterval : 10),
    checkpoint_seconds: envSeconds > 0 ? envSeconds : 300,
  }
}
