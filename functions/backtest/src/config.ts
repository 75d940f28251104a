import { KtrdrError } from '../../../trading/index.ts'
import type { BacktestParameters, OutputFormat, ResolvedEngineConfig } from './_types.ts'

/** Defaults of docs/domain.md#decisions-section, #backtest-inputs and #position-manager, in one place. */
export const ENGINE_DEFAULTS = {
  initialCapital: 100_000,
  commission: 0.001,
  slippage: 0.0005,
  confidenceThreshold: 0.5,
  positionAwareness: true,
  allowShortFromFlat: false,
  minSignalSeparationHours: 4,
  roundTripCost: 0.003,
  minEdgeMultiplier: 1.5,
  positionSizeFraction: 0.25,
} as const

/** The `decisions` block of a strategy (or model metadata), as loosely as YAML gives it. */
export interface DecisionsSection {
  output_format?: string
  confidence_threshold?: number
  position_awareness?: boolean
  allow_short_from_flat?: boolean
  filters?: { min_signal_separation?: number; [k: string]: unknown }
  cost_model?: { round_trip_cost?: number; min_edge_multiplier?: number }
  [k: string]: unknown
}

function bad(message: string, details?: unknown): KtrdrError {
  return new KtrdrError({ code: 'BACKTEST_CONFIG_INVALID', message, details })
}

function num(value: unknown, name: string, check: (v: number) => boolean, rule: string): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value))
    throw bad(`${name} must be ${rule} (got ${JSON.stringify(value)})`)
  return value
}

/**
 * Strategy decisions + request-level settings + one parameter set → what the kernel reads.
 * Later sources win: decisions < base request < parameter set.
 */
export function resolveEngineConfig(
  decisions: DecisionsSection | undefined,
  ...overrides: Array<BacktestParameters | undefined>
): ResolvedEngineConfig {
  const d = decisions ?? {}
  const format = (d.output_format ?? 'classification') as OutputFormat
  if (format !== 'classification' && format !== 'regression')
    throw bad(`decisions.output_format must be classification or regression (got "${String(d.output_format)}")`)
  const merged: BacktestParameters = {
    confidence_threshold: d.confidence_threshold,
    position_awareness: d.position_awareness,
    allow_short_from_flat: d.allow_short_from_flat,
    min_signal_separation: d.filters?.min_signal_separation,
    round_trip_cost: d.cost_model?.round_trip_cost,
    min_edge_multiplier: d.cost_model?.min_edge_multiplier,
  }
  for (const o of overrides) if (o) for (const [k, v] of Object.entries(o)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v
  const pos = (v: number) => v > 0
  const nonneg = (v: number) => v >= 0
  const unit = (v: number) => v >= 0 && v < 1
  return {
    outputFormat: format,
    initialCapital: num(merged.initial_capital, 'initial_capital', pos, 'a positive number') ?? ENGINE_DEFAULTS.initialCapital,
    commission: num(merged.commission, 'commission', unit, 'a fraction in [0, 1)') ?? ENGINE_DEFAULTS.commission,
    slippage: num(merged.slippage, 'slippage', unit, 'a fraction in [0, 1)') ?? ENGINE_DEFAULTS.slippage,
    confidenceThreshold:
      num(merged.confidence_threshold, 'confidence_threshold', (v) => v >= 0 && v <= 1, 'in [0, 1]') ?? ENGINE_DEFAULTS.confidenceThreshold,
    positionAwareness: merged.position_awareness ?? ENGINE_DEFAULTS.positionAwareness,
    allowShortFromFlat: merged.allow_short_from_flat ?? ENGINE_DEFAULTS.allowShortFromFlat,
    minSignalSeparationHours:
      num(merged.min_signal_separation, 'min_signal_separation', nonneg, 'a number of hours >= 0') ??
      ENGINE_DEFAULTS.minSignalSeparationHours,
    roundTripCost: num(merged.round_trip_cost, 'round_trip_cost', pos, 'a positive number') ?? ENGINE_DEFAULTS.roundTripCost,
    minEdgeMultiplier:
      num(merged.min_edge_multiplier, 'min_edge_multiplier', pos, 'a positive number') ?? ENGINE_DEFAULTS.minEdgeMultiplier,
    positionSizeFraction:
      num(merged.position_size_fraction, 'position_size_fraction', (v) => v > 0 && v <= 1, 'in (0, 1]') ??
      ENGINE_DEFAULTS.positionSizeFraction,
  }
}
