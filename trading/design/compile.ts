import { stringify } from 'yaml'
import { validateStrategy, formatStrategyIssue } from '../strategy/parse.ts'
import type { StrategyValidation } from '../strategy/types.ts'
import { designCatalog } from './catalog.ts'
import type { DesignDraft } from './schema.ts'

export interface CompileDesignOptions {
  /** The strategy's name (also its key in the strategies mount). */
  name: string
  /** Refuse designs with more features than this (a grammar cannot count them). */
  maxFeatures?: number
  /** training.epochs of the strategy (the loop's compute budget decides, not the model). */
  epochs?: number
}

export interface CompiledDesign {
  yaml: string
  strategy: Record<string, unknown>
  validation: StrategyValidation
  /** Why it cannot be used: validator errors and our own checks, each one line. Empty when valid. */
  errors: string[]
}

const MEMBERSHIP_NAMES: Record<number, string[]> = {
  3: ['low', 'mid', 'high'],
  5: ['very_low', 'low', 'mid', 'high', 'very_high'],
}

/** Evenly spaced triangles over [lo, hi]: each peaks at its centre and reaches 0 at its neighbours'. */
function triangles(lo: number, hi: number, n: number): number[][] {
  const step = (hi - lo) / (n - 1)
  const r = (v: number) => Math.round(v * 1e6) / 1e6
  return Array.from({ length: n }, (_, i) => [r(lo + (i - 1) * step), r(lo + i * step), r(lo + (i + 1) * step)])
}

/**
 * A draft (the designer's JSON) → a v3 strategy: the mechanical parts (ids, fuzzy sets over each
 * indicator's scale, nn_inputs, training defaults) are filled in here, so the designer only makes
 * choices and can never write a dangling reference. The result is checked by validateStrategy,
 * the same grammar every strategy upload passes.
 */
export function compileDesign(draft: DesignDraft, options: CompileDesignOptions): CompiledDesign {
  const errors: string[] = []
  const catalog = new Map(designCatalog().map((e) => [e.type, e]))
  const indicators: Record<string, Record<string, unknown>> = {}
  const fuzzy: Record<string, Record<string, unknown>> = {}
  const inputs: Array<Record<string, unknown>> = []
  let longest = 0
  for (const [i, item] of (draft.indicators ?? []).entries()) {
    const entry = catalog.get(item.indicator)
    if (!entry) {
      errors.push(`indicators[${i}]: "${item.indicator}" is not in the design catalog`)
      continue
    }
    const params: Record<string, unknown> = {}
    for (const name of Object.keys(entry.params)) if (item[name] !== undefined) params[name] = item[name]
    const id = [entry.type, ...Object.values(params).filter((v) => typeof v === 'number')].join('_').replace(/\./g, 'p')
    if (indicators[id]) {
      errors.push(`indicators[${i}]: ${id} is already used (the same indicator with the same params twice adds nothing)`)
      continue
    }
    for (const v of Object.values(params)) if (typeof v === 'number' && Number.isInteger(v)) longest = Math.max(longest, v)
    indicators[id] = { type: entry.type, ...params }
    if (item.input === 'fuzzy' && entry.scale) {
      const n = item.memberships === 5 ? 5 : 3
      const sets: Record<string, unknown> = { indicator: id }
      triangles(entry.scale[0], entry.scale[1], n).forEach((t, k) => (sets[MEMBERSHIP_NAMES[n][k]] = t))
      fuzzy[id] = sets
      inputs.push({ fuzzy_set: id, timeframes: 'all' })
    } else inputs.push({ raw_indicator: id, timeframes: 'all', normalization: 'zscore' })
  }
  const [symbol, timeframe] = String(draft.market ?? '').split(' ')
  const hidden = String(draft.model?.hidden_layers ?? '16')
    .split(',')
    .map(Number)
  const modelType = draft.model?.type ?? 'mlp'
  const architecture =
    modelType === 'mlp'
      ? { hidden_layers: hidden, dropout: draft.model?.dropout ?? 0.1 }
      : {
          sequence_length: draft.model?.sequence_length ?? 20,
          hidden_size: hidden[0],
          num_layers: hidden.length,
          dropout: draft.model?.dropout ?? 0.1,
        }
  const strategy: Record<string, unknown> = {
    name: options.name,
    version: '3.0',
    description: oneLine(draft.description) || `Designed for: ${oneLine(draft.hypothesis)}`,
    training_data: {
      symbols: { mode: 'single', symbol },
      timeframes: { mode: 'single', timeframe },
      history_required: Math.max(100, longest * 3),
    },
    indicators,
    fuzzy_sets: fuzzy,
    nn_inputs: inputs,
    model: { type: modelType, architecture },
    decisions: {
      output_format: 'classification',
      confidence_threshold: draft.confidence_threshold ?? 0.5,
      position_awareness: true,
      filters: { min_signal_separation: 4 },
    },
    training: {
      epochs: options.epochs ?? 5,
      batch_size: 64,
      learning_rate: 0.005,
      labels: { source: 'zigzag', zigzag_threshold: draft.labels?.zigzag_threshold ?? 0.015 },
      data_split: { train: 0.7, validation: 0.15, test: 0.15 },
    },
  }
  const header = [
    `# Designed by a local LLM under the design grammar (trading/design).`,
    `# Hypothesis: ${oneLine(draft.hypothesis) || '(none given)'}`,
  ].join('\n')
  const yaml = `${header}\n${stringify(strategy, { lineWidth: 0 })}`
  const validation = validateStrategy(yaml, { file: `${options.name}.yaml` })
  errors.push(...validation.errors.map(formatStrategyIssue))
  if (validation.valid && options.maxFeatures !== undefined && validation.resolved_features.length > options.maxFeatures)
    errors.push(`the design has ${validation.resolved_features.length} features; at most ${options.maxFeatures} are allowed`)
  return { yaml, strategy, validation, errors }
}

/** Free text from a model as one printable line (no YAML or comment breakouts). */
function oneLine(text: unknown): string {
  return typeof text === 'string'
    ? text
        .replace(/[^\P{C}]/gu, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 200)
    : ''
}
