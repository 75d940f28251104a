// The typed, defaults-applied form of a v3 strategy. Section keys keep the YAML's snake_case so
// the resolved object reads like the file, persists as JSON in model metadata, and maps 1:1 to
// docs/domain.md#strategy-grammar.
import type { Timeframe } from '../types.ts'

export type MembershipType = 'triangular' | 'trapezoidal' | 'gaussian' | 'sigmoid'
export type NormalizationMethod = 'minmax' | 'zscore' | 'none'

export interface StrategyIssue {
  /** Dotted key path, e.g. `fuzzy_sets.rsi_14.oversold.parameters`. */
  path: string
  message: string
  /** 1-based line in the YAML source; undefined when the key is absent. */
  line?: number
  file?: string
}

export interface ResolvedIndicator {
  id: string
  /** Registry key after alias resolution, e.g. `bollingerbands` for `bbands`. */
  type: string
  params: Record<string, unknown>
  outputs: string[]
  multi_output: boolean
  data_source?: string
}

export interface ResolvedMembership {
  name: string
  type: MembershipType
  parameters: number[]
}

export interface ResolvedFuzzySet {
  id: string
  /** As written: `adx_14.adx` or `rsi_14`. */
  indicator_ref: string
  indicator: string
  /** Output column: the named output, or the primary one for a bare multi-output id; null for single-output. */
  output: string | null
  memberships: ResolvedMembership[]
}

export interface ResolvedNnInput {
  kind: 'fuzzy' | 'raw'
  /** Fuzzy set id, or `<indicator_id>[.<output>]` for raw. */
  ref: string
  indicator: string
  output: string | null
  timeframes: Timeframe[]
  normalization: NormalizationMethod
}

/** One column of the feature matrix, in canonical order. */
export interface FeatureSpec {
  name: string
  timeframe: Timeframe
  kind: 'fuzzy' | 'raw'
  indicator: string
  output: string | null
  fuzzy_set?: string
  membership?: ResolvedMembership
  normalization: NormalizationMethod
}

export interface ContextDataEntry {
  provider: string
  alignment: string
  source_ids: string[]
  [key: string]: unknown
}

export interface TrainingData {
  symbol_mode: 'single' | 'multi_symbol'
  symbols: string[]
  timeframe_mode: 'single' | 'multi_timeframe'
  /** Base timeframe first, then the others in YAML order. */
  timeframes: Timeframe[]
  /** YAML order; `timeframes: all` in nn_inputs follows this order (docs/domain.md#example-strategies). */
  declared_timeframes: Timeframe[]
  base_timeframe: Timeframe
  history_required: number
  start_date?: string
  end_date?: string
  date_range?: { start?: string; end?: string }
  selection_criteria?: Record<string, unknown>
}

export type ModelConfig =
  | { type: 'mlp'; architecture: { hidden_layers: number[]; dropout: number; activation: 'relu' | 'tanh' | 'sigmoid' | 'leaky_relu' } }
  | { type: 'lstm' | 'gru'; architecture: { sequence_length: number; hidden_size: number; num_layers: number; dropout: number } }

export interface DecisionsConfig {
  output_format: 'classification' | 'regression'
  confidence_threshold: number
  position_awareness: boolean
  allow_short_from_flat: boolean
  filters: { min_signal_separation: number; volume_filter: boolean }
  /** Always present with defaults; required (explicit, positive) for regression. */
  cost_model: { round_trip_cost: number; min_edge_multiplier: number }
  num_classes: number
}

export type LabelsConfig =
  | { source: 'zigzag'; zigzag_threshold: number; label_lookahead: number | null }
  | {
      source: 'triple_barrier'
      pt_multiplier: number
      sl_multiplier: number
      max_holding_period: number
      vol_span: number
      vol_method: 'atr' | 'log_return'
      compute_weights: boolean
      cusum_threshold: number | null
      cusum_multiplier: number
      embargo_pct: number
    }
  | { source: 'forward_return'; horizon: number }
  | { source: 'context'; horizon: number; bullish_threshold: number; bearish_threshold: number }

export interface LrSchedulerConfig {
  type: 'step' | 'exponential' | 'reduce_on_plateau'
  factor: number
  patience: number
  step_size: number
  gamma: number
  min_lr: number
}

/** The optimisation options `model.training` may also carry (trading/strategy/grammar.ts MODEL_TRAINING_KEYS). */
export type TrainingOptionKey =
  'epochs' | 'learning_rate' | 'batch_size' | 'optimizer' | 'weight_decay' | 'gradient_clip' | 'early_stopping' | 'lr_scheduler'

/** Where an option's value came from: the training section, the legacy model.training, or the default. */
export type TrainingOptionSource = 'training' | 'model.training' | 'default'

export interface TrainingConfig {
  method: 'supervised'
  labels: LabelsConfig
  epochs: number
  learning_rate: number
  batch_size: number
  loss: 'cross_entropy' | 'focal' | 'huber' | 'mse'
  focal_gamma: number
  huber_delta: number
  data_split: { train: number; validation: number; test: number }
  early_stopping: { enabled: boolean; patience: number; min_delta: number; monitor: 'val_loss' | 'val_accuracy' } | null
  lr_scheduler: LrSchedulerConfig | null
  gradient_clip: number | null
  optimizer: 'adam' | 'adamw' | 'sgd' | 'rmsprop'
  weight_decay: number
  /** Per option, which part of the strategy set it (train logs it beside the invocation's overrides). */
  sources: Record<TrainingOptionKey, TrainingOptionSource>
}

export interface ResolvedStrategy {
  name: string
  description?: string
  version: string
  scope?: 'universal' | 'symbol_group' | 'symbol_specific'
  training_data: TrainingData
  context_data: ContextDataEntry[]
  deployment?: Record<string, unknown>
  indicators: Record<string, ResolvedIndicator>
  fuzzy_sets: Record<string, ResolvedFuzzySet>
  nn_inputs: ResolvedNnInput[]
  model: ModelConfig
  decisions: DecisionsConfig
  training: TrainingConfig
  backtest?: { date_range?: { start?: string; end?: string } }
  resolved_features: string[]
  features: FeatureSpec[]
}

export interface StrategyValidation {
  valid: boolean
  /** Make the strategy invalid. */
  errors: StrategyIssue[]
  /** Probably not what the author meant (an unknown param, an unused indicator): worth fixing. */
  warnings: StrategyIssue[]
  /** Nothing to fix: legacy keys that have no effect, exactly as in KTRDR, and the name the strategy is registered under. */
  notes: StrategyIssue[]
  resolved_features: string[]
  /** Present when valid. */
  strategy?: ResolvedStrategy
}
