import type { Document } from 'yaml'
import type { ResolvedStrategy } from '../../trading/index.ts'

/** A training hyperparameter: where it lives in the v3 strategy and when it applies. */
interface TrainingParam {
  path: string[]
  /** Short name in run names (`lr=0.001`). */
  alias: string
  kind: 'number' | 'integer' | 'layers'
  /** Only for these model types / label sources. */
  models?: string[]
  labels?: string[]
}

/** What a training sweep may vary: the optimiser, the network's size, the label parameters (docs/domain.md#training). */
export const TRAINING_PARAMS: Record<string, TrainingParam> = {
  learning_rate: { path: ['training', 'learning_rate'], alias: 'lr', kind: 'number' },
  batch_size: { path: ['training', 'batch_size'], alias: 'batch', kind: 'integer' },
  hidden_layers: { path: ['model', 'architecture', 'hidden_layers'], alias: 'hidden', kind: 'layers', models: ['mlp'] },
  hidden_size: { path: ['model', 'architecture', 'hidden_size'], alias: 'hidden', kind: 'integer', models: ['lstm', 'gru'] },
  dropout: { path: ['model', 'architecture', 'dropout'], alias: 'dropout', kind: 'number' },
  zigzag_threshold: { path: ['training', 'labels', 'zigzag_threshold'], alias: 'zz', kind: 'number', labels: ['zigzag'] },
  label_lookahead: { path: ['training', 'labels', 'label_lookahead'], alias: 'lookahead', kind: 'integer', labels: ['zigzag'] },
  pt_multiplier: { path: ['training', 'labels', 'pt_multiplier'], alias: 'pt', kind: 'number', labels: ['triple_barrier'] },
  sl_multiplier: { path: ['training', 'labels', 'sl_multiplier'], alias: 'sl', kind: 'number', labels: ['triple_barrier'] },
  max_holding_period: { path: ['training', 'labels', 'max_holding_period'], alias: 'hold', kind: 'integer', labels: ['triple_barrier'] },
  horizon: { path: ['training', 'labels', 'horizon'], alias: 'horizon', kind: 'integer', labels: ['forward_return', 'context'] },
}

/** Position-manager parameters of a backtest parameter set (functions/backtest's `parameter_sets`), with short names. */
export const BACKTEST_PARAMS: Record<string, { alias: string }> = {
  confidence_threshold: { alias: 'conf' },
  min_signal_separation: { alias: 'sep' },
  position_size_fraction: { alias: 'size' },
  position_awareness: { alias: 'aware' },
  allow_short_from_flat: { alias: 'short' },
  round_trip_cost: { alias: 'cost' },
  min_edge_multiplier: { alias: 'edge' },
  commission: { alias: 'commission' },
  slippage: { alias: 'slippage' },
  initial_capital: { alias: 'capital' },
}

export const aliasOf = (name: string) => TRAINING_PARAMS[name]?.alias ?? BACKTEST_PARAMS[name]?.alias ?? name

/** Why a training parameter cannot be swept on this strategy (its model or labels lack it), or null. */
export function notApplicable(name: string, strategy: ResolvedStrategy): string | null {
  const p = TRAINING_PARAMS[name]
  if (p.models && !p.models.includes(strategy.model.type))
    return `applies to ${p.models.join('/')} models; ${strategy.name} is ${strategy.model.type}`
  if (p.labels && !p.labels.includes(strategy.training.labels.source))
    return `applies to ${p.labels.join('/')} labels; ${strategy.name} labels with ${strategy.training.labels.source}`
  return null
}

/** Whether a value has the parameter's type (ranges are checked by the strategy validator afterwards). */
export function typeProblem(name: string, value: unknown): string | null {
  const kind = TRAINING_PARAMS[name]?.kind
  if (kind === 'layers')
    return Array.isArray(value) && value.length > 0 && value.every((x) => Number.isInteger(x) && x > 0)
      ? null
      : 'each value must be a list of layer sizes, e.g. [64, 32]'
  if (kind === 'integer') return Number.isInteger(value) ? null : 'each value must be an integer'
  if (kind === 'number') return typeof value === 'number' && Number.isFinite(value) ? null : 'each value must be a number'
  return null
}

/** The strategy with the combination's training parameters set (comments and the rest kept). */
export function applyTrainingParams(doc: Document, combination: Record<string, unknown>): Document {
  const out = doc.clone()
  for (const [name, value] of Object.entries(combination)) out.setIn(TRAINING_PARAMS[name].path, value)
  return out
}
