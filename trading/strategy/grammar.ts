// The v3 grammar's options as data: the section readers validate with these tables and
// scripts/grammar-docs.ts writes docs/strategy-grammar.md from them, so the reference cannot
// drift from what the validator accepts.
import { STRATEGY_LIMITS } from './limits.ts'
import type { MembershipType, TrainingOptionKey } from './types.ts'

export interface NumberOption {
  kind: 'int' | 'number'
  default: number
  min?: number
  max?: number
  exclusiveMin?: boolean
  exclusiveMax?: boolean
  required?: boolean
  doc: string
}
export interface ChoiceOption {
  kind: 'choice'
  default: string
  values: readonly string[]
  doc: string
}
export interface FlagOption {
  kind: 'bool'
  default: boolean
  doc: string
}
/** A list or mapping the reader checks itself; documented here with its shape. */
export interface ShapeOption {
  kind: 'shape'
  shape: string
  default: string
  required?: boolean
  doc: string
}
export type GrammarOption = NumberOption | ChoiceOption | FlagOption | ShapeOption
export type OptionTable = Readonly<Record<string, GrammarOption>>

const int = (d: number, doc: string, range: Omit<NumberOption, 'kind' | 'default' | 'doc'> = {}): NumberOption => ({
  kind: 'int',
  default: d,
  ...range,
  doc,
})
const number = (d: number, doc: string, range: Omit<NumberOption, 'kind' | 'default' | 'doc'> = {}): NumberOption => ({
  kind: 'number',
  default: d,
  ...range,
  doc,
})
const choice = (d: string, values: readonly string[], doc: string): ChoiceOption => ({ kind: 'choice', default: d, values, doc })
const flag = (d: boolean, doc: string): FlagOption => ({ kind: 'bool', default: d, doc })
const shape = (s: string, d: string, doc: string, required = false): ShapeOption => ({
  kind: 'shape',
  shape: s,
  default: d,
  doc,
  ...(required ? { required } : {}),
})

/** Top-level keys, in the order the reference lists them. */
export const STRATEGY_SECTIONS = {
  name: shape('string', '—', "Should equal the file name, which is the strategy's name (below); an upload rewrites it", true),
  version: shape('string', '"3.0"', 'Anything but 3 / 3.0 warns; the file is validated as v3 either way'),
  description: shape('string', '—', 'Free text, kept in model metadata'),
  scope: choice('universal', ['universal', 'symbol_group', 'symbol_specific'], 'Informational'),
  training_data: shape('mapping', '—', 'Symbols, timeframes, history and dates', true),
  context_data: shape('list', '[]', 'External series (ib, fred, cftc_cot, currencies, broker) that indicators may read via data_source'),
  indicators: shape('mapping', '—', '`<id>: {type, <param>: <value>, …, data_source?}`', true),
  fuzzy_sets: shape('mapping', '—', '`<set_id>: {indicator: <id>[.<output>], <membership>: …}`', true),
  nn_inputs: shape('list', '—', 'What the network sees, in feature order (`fuzzy_set` or `raw_indicator`, `timeframes`)', true),
  model: shape('mapping', '—', 'Network type and architecture', true),
  decisions: shape('mapping', '—', 'How outputs become trades', true),
  training: shape('mapping', '—', 'Labels, loss, optimisation, split', true),
  deployment: shape('mapping', '—', 'Informational'),
  backtest: shape('mapping', '—', '`{date_range: {start, end}}`, informational'),
} satisfies OptionTable

export const TRAINING_DATA_OPTIONS = {
  symbols: shape('mapping', '—', '`{mode: single, symbol}` or `{mode: multi_symbol, list: [...]}`', true),
  timeframes: shape(
    'mapping',
    '—',
    '`{mode: single, timeframe}` or `{mode: multi_timeframe, list: [≥ 2], base_timeframe}` (without base_timeframe the first listed is the base, with a warning)',
    true,
  ),
  history_required: int(200, 'Bars of warm-up (informational)', { min: 50 }),
  start_date: shape('ISO date', '—', 'First day to train on (the input start_date overrides)'),
  end_date: shape('ISO date', '—', 'Last day to train on, inclusive (the input end_date overrides)'),
  date_range: shape('mapping', '—', '`{start, end}`: the same as start_date/end_date'),
} satisfies OptionTable

export const SYMBOLS_OPTIONS = {
  mode: choice('single', ['single', 'multi_symbol'], 'One symbol or several'),
  symbol: shape('string', '—', 'single: 1–20 characters of A-Z a-z 0-9 _ - .'),
  list: shape('list of strings', '—', 'multi_symbol: the symbols, no duplicates (`symbols:` is accepted for `list:`)'),
} satisfies OptionTable

export const TIMEFRAMES_OPTIONS = {
  mode: choice('single', ['single', 'multi_timeframe'], 'One timeframe or several'),
  timeframe: shape('timeframe', '—', 'single: the timeframe'),
  list: shape('list of timeframes', '—', 'multi_timeframe: at least 2, no duplicates, in the order `timeframes: all` follows'),
  base_timeframe: shape('timeframe', 'first listed', 'multi_timeframe: the grid of features, labels and decisions'),
} satisfies OptionTable

export const MODEL_TYPES = ['mlp', 'lstm', 'gru'] as const
export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'leaky_relu'] as const

export const MODEL_OPTIONS = {
  type: choice('mlp', MODEL_TYPES, 'mlp: dense layers on one row of features; lstm/gru: recurrent layers over a window of rows'),
  architecture: shape('mapping', '—', 'Below, per type', true),
  training: shape(
    'mapping',
    '—',
    'Legacy home of epochs, learning_rate, batch_size, … (below): each applies unless the training section sets it too',
  ),
  features: shape('mapping', '—', 'Legacy v1/v2 feature engineering: accepted with a note, no effect in v3 (as in KTRDR)'),
} satisfies OptionTable

export const MLP_ARCHITECTURE = {
  hidden_layers: shape(
    'list of positive integers',
    '—',
    `Layer widths, e.g. [64, 32]; at most ${STRATEGY_LIMITS.hiddenLayers} layers of ${STRATEGY_LIMITS.hiddenUnits} units`,
    true,
  ),
  dropout: number(0.2, 'Dropout after each hidden layer', { min: 0, max: 1, exclusiveMax: true }),
  activation: choice('relu', ACTIVATIONS, 'Hidden-layer activation (leaky_relu slope 0.01)'),
  output_activation: shape('string', 'softmax', 'Ignored: the network outputs logits, softmax is applied at decision time (others warn)'),
} satisfies OptionTable

export const RNN_ARCHITECTURE = {
  sequence_length: int(20, 'Rows in one sample window (ending at the labelled row)', { min: 1, required: true }),
  hidden_size: int(64, 'Units per recurrent layer', { min: 1, max: STRATEGY_LIMITS.hiddenUnits }),
  num_layers: int(2, 'Stacked recurrent layers', { min: 1, max: STRATEGY_LIMITS.hiddenLayers }),
  dropout: number(0.2, 'Between layers and on the final hidden state', { min: 0, max: 1, exclusiveMax: true }),
} satisfies OptionTable

export const DECISIONS_OPTIONS = {
  output_format: choice('classification', ['classification', 'regression'], 'BUY/HOLD/SELL classes, or a forward-return regression'),
  confidence_threshold: number(0.5, 'Classification: a top probability below it means HOLD', { min: 0, max: 1 }),
  position_awareness: flag(true, 'Suppress signals that repeat the current position'),
  allow_short_from_flat: flag(false, 'Classification: SELL while flat opens a short'),
  num_classes: int(3, 'Classification: always 3 (BUY, HOLD, SELL)', { min: 3, max: 3 }),
  filters: shape('mapping', '—', 'Below'),
  cost_model: shape('mapping', '—', 'Below; required for regression'),
} satisfies OptionTable

export const DECISION_FILTERS = {
  min_signal_separation: number(4, 'Hours since the last executed trade before a new signal passes', { min: 0 }),
  volume_filter: flag(false, 'Accepted, unused'),
} satisfies OptionTable

export const COST_MODEL = {
  round_trip_cost: number(0.003, 'Regression: cost of a round trip as a fraction', { min: 0, exclusiveMin: true }),
  min_edge_multiplier: number(1.5, 'Regression: trade when |prediction| > cost × this', { min: 0, exclusiveMin: true }),
} satisfies OptionTable

export const TRAINING_OPTIONS = {
  method: choice('supervised', ['supervised'], 'The only method'),
  labels: shape('mapping', '{source: zigzag}', 'Below, per source'),
  epochs: int(100, 'Passes over the training split (the input `epochs` overrides)', { min: 1 }),
  learning_rate: number(0.001, 'Initial learning rate', { min: 0, exclusiveMin: true }),
  batch_size: int(32, 'Samples per step (the input `batch_size` overrides)', { min: 1 }),
  loss: shape('string', 'cross_entropy / huber', 'Classification: cross_entropy (default) or focal; regression: huber (default) or mse'),
  focal_gamma: number(2.0, 'Focal loss γ', { min: 0 }),
  huber_delta: number(0.01, 'Huber loss δ', { min: 0, exclusiveMin: true }),
  optimizer: choice('adam', ['adam', 'adamw', 'sgd', 'rmsprop'], 'adamw = adam (weight decay is always decoupled); sgd with momentum 0.9'),
  weight_decay: number(0, 'Decoupled weight decay; unset means 1e-4 for classification, 0 for regression', { min: 0 }),
  gradient_clip: number(1.0, 'Global-norm clip; false or null disables', { min: 0, exclusiveMin: true }),
  early_stopping: shape('true or mapping', 'off', 'Below; `true` or `{}` means the defaults'),
  lr_scheduler: shape('true or mapping', 'off', 'Below; `true` means reduce_on_plateau'),
  data_split: shape('mapping', '{train: 0.7, validation: 0.15, test: 0.15}', 'Chronological split per symbol; must sum to 1'),
} satisfies OptionTable

/**
 * What `model.training` may carry (KTRDR's legacy place for them). The top-level `training`
 * section wins key by key; labels, loss and the split live only there.
 */
export const MODEL_TRAINING_KEYS = [
  'epochs',
  'learning_rate',
  'batch_size',
  'optimizer',
  'weight_decay',
  'gradient_clip',
  'early_stopping',
  'lr_scheduler',
] as const satisfies readonly TrainingOptionKey[]

export const EARLY_STOPPING = {
  enabled: flag(true, '`false` turns early stopping off'),
  patience: int(10, 'Epochs without improvement before stopping', { min: 1 }),
  min_delta: number(0, 'Smallest change that counts as an improvement', { min: 0 }),
  monitor: choice('val_loss', ['val_loss', 'val_accuracy'], 'What must improve'),
} satisfies OptionTable

export const LR_SCHEDULER = {
  type: choice('reduce_on_plateau', ['step', 'exponential', 'reduce_on_plateau'], 'PyTorch semantics'),
  factor: number(0.5, 'reduce_on_plateau: lr × factor after `patience` epochs without improvement', {
    min: 0,
    max: 1,
    exclusiveMin: true,
    exclusiveMax: true,
  }),
  patience: int(5, 'reduce_on_plateau: epochs to wait', { min: 0 }),
  step_size: int(10, 'step: lr × gamma every step_size epochs', { min: 1 }),
  gamma: number(0.95, 'step, exponential: the decay factor', { min: 0, max: 1, exclusiveMin: true }),
  min_lr: number(1e-6, 'reduce_on_plateau: the floor', { min: 0 }),
} satisfies OptionTable

export const DATA_SPLIT = {
  train: number(0.7, 'Share of each symbol’s usable samples, oldest first', { min: 0, max: 1, exclusiveMin: true }),
  validation: number(0.15, 'Next share: early stopping, best weights, schedules', { min: 0, max: 1 }),
  test: number(0.15, 'Last share: the reported test metrics', { min: 0, max: 1 }),
} satisfies OptionTable

export const LABEL_SOURCES = ['zigzag', 'triple_barrier', 'forward_return', 'context', 'regime'] as const

export const LABEL_OPTIONS = {
  zigzag: {
    zigzag_threshold: number(0.02, 'Smallest counter-move (fraction) that ends a leg; bars inside a leg get its direction', {
      min: 0,
      max: 1,
      exclusiveMin: true,
    }),
    label_lookahead: int(20, 'Accepted with a note, unused: the segment labeller runs pivot to pivot (as in KTRDR)', { min: 1 }),
  },
  triple_barrier: {
    pt_multiplier: number(2.0, 'Take-profit barrier in volatilities', { min: 0, exclusiveMin: true }),
    sl_multiplier: number(1.5, 'Stop-loss barrier in volatilities', { min: 0, exclusiveMin: true }),
    max_holding_period: int(50, 'Bars before the time barrier', { min: 1 }),
    vol_span: int(50, 'Span of the volatility estimate', { min: 1 }),
    vol_method: shape('string', 'atr', 'atr: ewm mean of (H−L)/C; anything else: ewm std of log returns'),
    compute_weights: flag(false, 'Sample by uniqueness weights'),
    cusum_threshold: shape('number or null', 'null', 'CUSUM event filter: > 0 fixed, ≤ 0 automatic, null off'),
    cusum_multiplier: number(0.5, 'Automatic CUSUM threshold = this × expanding mean volatility', { min: 0, exclusiveMin: true }),
    embargo_pct: number(0.01, 'Rows dropped before each split boundary', { min: 0, max: 0.5 }),
  },
  forward_return: {
    horizon: int(20, 'Bars ahead; the label is the return over them (regression)', { min: 1 }),
  },
  context: {
    horizon: int(5, 'Bars ahead', { min: 1 }),
    bullish_threshold: number(0.005, 'Forward return above it: BULLISH'),
    bearish_threshold: number(-0.005, 'Forward return below it: BEARISH'),
  },
} satisfies Record<'zigzag' | 'triple_barrier' | 'forward_return' | 'context', OptionTable>

export interface MembershipShape {
  type: MembershipType
  /** Other accepted spellings (case-insensitive). */
  aliases: readonly string[]
  parameters: readonly string[]
  rule: string
  formula: string
}

/** Fuzzy membership shapes (docs/domain.md#fuzzy-memberships). `[a, b, c]` shorthand is always triangular. */
export const MEMBERSHIP_SHAPES: readonly MembershipShape[] = [
  {
    type: 'triangular',
    aliases: ['triangularmf', 'triangle'],
    parameters: ['a', 'b', 'c'],
    rule: 'a ≤ b ≤ c',
    formula: 'x = b ⇒ 1; x ≤ a or x ≥ c ⇒ 0; rising (x−a)/(b−a), falling (c−x)/(c−b)',
  },
  {
    type: 'trapezoidal',
    aliases: ['trapezoidalmf', 'trapezoid'],
    parameters: ['a', 'b', 'c', 'd'],
    rule: 'a ≤ b ≤ c ≤ d',
    formula: 'x ≤ a or x ≥ d ⇒ 0; b ≤ x ≤ c ⇒ 1; rising (x−a)/(b−a), falling (d−x)/(d−c)',
  },
  {
    type: 'gaussian',
    aliases: ['gaussianmf'],
    parameters: ['mean', 'sigma'],
    rule: 'sigma > 0',
    formula: 'exp(−½((x−mean)/sigma)²)',
  },
  {
    type: 'sigmoid',
    aliases: ['sigmoidmf'],
    parameters: ['center', 'slope'],
    rule: 'slope ≠ 0 (negative for a falling curve)',
    formula: '1/(1 + exp(−slope·(x−center)))',
  },
]

export const NORMALIZATIONS = ['minmax', 'zscore', 'none'] as const
