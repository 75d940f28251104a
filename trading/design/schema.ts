import { designCatalog, type DesignIndicator } from './catalog.ts'

/** What a design may use: the data that exists and the caller's constraints. */
export interface DesignSpace {
  /** `SYMBOL timeframe` pairs that have data (after the caller's constraints), e.g. `EURUSD 1h`. */
  markets: string[]
  /** Indicator types allowed (default: the whole design catalog). */
  indicators?: string[]
  /** At most this many indicators (default 4). */
  maxIndicators?: number
  modelTypes?: Array<'mlp' | 'lstm' | 'gru'>
}

export const HIDDEN_LAYER_CHOICES = ['8', '16', '32', '16,8', '32,16', '64,32'] as const
export const DROPOUT_CHOICES = [0, 0.1, 0.2, 0.3] as const
export const SEQUENCE_LENGTH_CHOICES = [10, 20, 30] as const
export const ZIGZAG_CHOICES = [0.005, 0.01, 0.015, 0.02, 0.03, 0.05] as const
export const CONFIDENCE_CHOICES = [0.4, 0.5, 0.6, 0.7] as const
export const MEMBERSHIP_CHOICES = [3, 5] as const

/** A strategy draft as the designer writes it (compiled into v3 by compileDesign). */
export interface DesignDraft {
  description: string
  hypothesis: string
  /** One of the space's markets: `SYMBOL timeframe`. */
  market: string
  indicators: Array<{ indicator: string; input: 'fuzzy' | 'raw'; memberships?: number; [param: string]: unknown }>
  model: { type: 'mlp' | 'lstm' | 'gru'; hidden_layers: string; dropout: number; sequence_length: number }
  labels: { zigzag_threshold: number }
  confidence_threshold: number
}

/** JSON schema (the subset llama.cpp's grammar compiler takes) of one catalog indicator. */
function indicatorSchema(entry: DesignIndicator) {
  const properties: Record<string, unknown> = { indicator: { const: entry.type } }
  for (const [name, values] of Object.entries(entry.params))
    properties[name] = values.length === 1 ? { const: values[0] } : { enum: values }
  properties.input = entry.scale ? { enum: ['fuzzy', 'raw'] } : { const: 'raw' }
  if (entry.scale) properties.memberships = { enum: [...MEMBERSHIP_CHOICES] }
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false }
}

/**
 * The grammar of a design, derived from the v3 grammar and the indicator registry: the model can
 * only name catalog indicators, only pick param values inside their ranges, only use symbol and
 * timeframe pairs that have data and only choose among valid model, label and decision settings. What
 * a grammar cannot express (the feature budget, a duplicate indicator) is left to validateStrategy
 * after compileDesign; those errors go back to the model for another attempt.
 */
export function designSchema(space: DesignSpace) {
  if (space.markets.length === 0) throw new RangeError('designSchema needs at least one symbol and timeframe with data')
  const allowed = space.indicators?.length ? new Set(space.indicators.map((t) => t.toLowerCase())) : null
  const entries = designCatalog().filter((e) => !allowed || allowed.has(e.type))
  if (entries.length === 0) throw new RangeError(`none of the indicators ${[...(allowed ?? [])].join(', ')} is in the design catalog`)
  const modelTypes = space.modelTypes?.length ? space.modelTypes : ['mlp']
  return {
    type: 'object',
    properties: {
      description: { type: 'string', maxLength: 120 },
      hypothesis: { type: 'string', maxLength: 160 },
      // Pairs, not a symbol and a timeframe apart: only combinations that have data can be written.
      market: { enum: space.markets },
      indicators: {
        type: 'array',
        minItems: 1,
        maxItems: Math.max(1, space.maxIndicators ?? 4),
        items: entries.length === 1 ? indicatorSchema(entries[0]) : { oneOf: entries.map(indicatorSchema) },
      },
      model: {
        type: 'object',
        properties: {
          type: { enum: modelTypes },
          hidden_layers: { enum: [...HIDDEN_LAYER_CHOICES] },
          dropout: { enum: [...DROPOUT_CHOICES] },
          sequence_length: { enum: [...SEQUENCE_LENGTH_CHOICES] },
        },
        required: ['type', 'hidden_layers', 'dropout', 'sequence_length'],
        additionalProperties: false,
      },
      labels: {
        type: 'object',
        properties: { zigzag_threshold: { enum: [...ZIGZAG_CHOICES] } },
        required: ['zigzag_threshold'],
        additionalProperties: false,
      },
      confidence_threshold: { enum: [...CONFIDENCE_CHOICES] },
    },
    required: ['description', 'hypothesis', 'market', 'indicators', 'model', 'labels', 'confidence_threshold'],
    additionalProperties: false,
  } as const
}
