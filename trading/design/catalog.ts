import { getIndicator } from '../indicators/registry.ts'
import type { IndicatorParamSpec } from '../types.ts'

/**
 * What a designer (a local LLM, under a grammar) may choose per indicator, derived from the
 * indicator registry: each param's values are a grid inside the registry's [min, max] (a JSON-schema
 * grammar cannot bound numbers, an enum can), and how the indicator enters the network:
 *
 * - `fuzzy`: its primary output has a known scale (RSI 0–100, Williams %R −100–0, …), so evenly
 *   spaced triangular memberships over that scale are meaningful;
 * - `raw`: unbounded outputs (MACD line, ROC, OBV, …) enter z-scored, which needs no scale.
 *
 * Price-level indicators (moving averages, bands, channels, SAR, Ichimoku, VWAP) are left out: their
 * raw level says nothing a z-score of price would not, and ZigZag looks ahead (it would leak).
 */
export interface DesignIndicator {
  type: string
  /** Param name → allowed values (each inside the registry's range). */
  params: Record<string, readonly (number | string | boolean)[]>
  /** Scale of the primary output for fuzzy memberships; null: raw (z-scored) only. */
  scale: readonly [number, number] | null
  /** One line the designer sees. */
  about: string
}

const PERIODS = [2, 3, 5, 7, 9, 10, 12, 14, 20, 21, 26, 30, 50, 100, 200]

/** Grid of a registry param: round values inside [min, max], the default always included. */
export function paramGrid(spec: IndicatorParamSpec): (number | string | boolean)[] {
  switch (spec.kind) {
    case 'int': {
      const lo = spec.min ?? 1
      const hi = spec.max ?? 500
      return [...new Set([...PERIODS.filter((p) => p >= lo && p <= hi), spec.default])].sort((a, b) => a - b)
    }
    case 'float': {
      const ok = (v: number) =>
        (spec.min === undefined || (spec.exclusiveMin ? v > spec.min : v >= spec.min)) && (spec.max === undefined || v <= spec.max)
      return [...new Set([0.5, 1, 1.5, 2].map((f) => Math.round(spec.default * f * 1e6) / 1e6).filter(ok))].sort((a, b) => a - b)
    }
    case 'bool':
      return [spec.default]
    case 'enum':
      return [...spec.values]
    case 'source':
      return ['close']
  }
}

const ENTRIES: Array<{ type: string; scale: readonly [number, number] | null; about: string; grids?: Record<string, number[]> }> = [
  { type: 'rsi', scale: [0, 100], about: 'relative strength, 0–100; momentum exhaustion' },
  { type: 'stochastic', scale: [0, 100], about: 'stochastic %K, 0–100; position in the recent range' },
  { type: 'williamsr', scale: [-100, 0], about: 'Williams %R, −100–0; position in the recent range' },
  { type: 'cci', scale: [-200, 200], about: 'commodity channel index, about ±200; deviation from the typical price' },
  { type: 'adx', scale: [0, 100], about: 'ADX, 0–100; trend strength without direction' },
  { type: 'aroon', scale: [0, 100], about: 'Aroon up, 0–100; bars since the high' },
  { type: 'cmf', scale: [-1, 1], about: 'Chaikin money flow, −1–1; volume-weighted accumulation' },
  {
    type: 'macd',
    scale: null,
    about: 'MACD line (fast − slow EMA); trend and momentum',
    // fast < slow always holds on these grids: the grammar cannot compare two fields.
    grids: { fast_period: [5, 8, 12], slow_period: [21, 26, 35, 50], signal_period: [5, 9, 12] },
  },
  { type: 'roc', scale: null, about: 'rate of change in percent; momentum' },
  { type: 'momentum', scale: null, about: 'price change over the period; momentum' },
  { type: 'atr', scale: null, about: 'average true range; volatility' },
  { type: 'bollingerbandwidth', scale: null, about: 'Bollinger band width; volatility squeeze and expansion' },
  { type: 'distancefromma', scale: null, about: 'distance of price from its moving average; mean reversion' },
  { type: 'fishertransform', scale: null, about: 'Fisher transform of price; turning points' },
  { type: 'rvi', scale: null, about: 'relative vigour index; momentum' },
  { type: 'obv', scale: null, about: 'on-balance volume; volume trend' },
  { type: 'adline', scale: null, about: 'accumulation/distribution line; volume trend' },
  { type: 'volumeratio', scale: null, about: 'volume over its average; participation' },
]

let catalog: DesignIndicator[] | null = null

/** The designer's indicators, each param grid inside the registry's range (checked here). */
export function designCatalog(): readonly DesignIndicator[] {
  if (catalog) return catalog
  catalog = ENTRIES.map((entry) => {
    const def = getIndicator(entry.type)
    if (!def) throw new Error(`design catalog names ${entry.type}, which the indicator registry does not have`)
    const params: Record<string, (number | string | boolean)[]> = {}
    for (const [name, spec] of Object.entries(def.params)) {
      const grid = entry.grids?.[name] ?? paramGrid(spec)
      for (const v of grid) {
        if ((spec.kind === 'int' || spec.kind === 'float') && typeof v === 'number') {
          const low = spec.min !== undefined && (v < spec.min || (spec.kind === 'float' && spec.exclusiveMin && v === spec.min))
          if (low || (spec.max !== undefined && v > spec.max) || (spec.kind === 'int' && !Number.isInteger(v)))
            throw new Error(`design grid of ${def.type}.${name} has ${v}, outside the registry's range`)
        }
      }
      params[name] = grid
    }
    return { type: def.type, params, scale: entry.scale, about: entry.about }
  })
  return catalog
}
