import { STRATEGY_LIMITS } from './limits.ts'
import { KtrdrError } from '../_errors.ts'
import { Checker, describe, isObj, parseYamlSource, Reader, type Obj } from './_context.ts'
import { yamlNestingDepth } from './_nesting.ts'
import { readFuzzySets, readIndicators } from './_fuzzy-sets.ts'
import { readDecisions, readModel } from './_model.ts'
import { readNnInputs, resolveFeatureSpecs } from './_nn-inputs.ts'
import { readContextData, readTrainingData } from './_training-data.ts'
import { readTraining } from './_training.ts'
import type { ResolvedStrategy, StrategyIssue, StrategyValidation } from './types.ts'

export interface ParseStrategyOptions {
  /** Shown in every issue (`file:line`). */
  file?: string
  /**
   * The name the strategy is registered under (its file name without extension,
   * docs/decisions.md#one-name-per-strategy). The resolved strategy takes it; a YAML `name:` that
   * differs gets a note.
   */
  name?: string
}

const SCOPES = ['universal', 'symbol_group', 'symbol_specific'] as const

/**
 * Validates a v3 strategy (YAML text or an already-parsed object) and resolves it: defaults
 * applied, base timeframe first, canonical `resolved_features`. Never throws on bad input.
 */
export function validateStrategy(source: string | Obj, options: ParseStrategyOptions = {}): StrategyValidation {
  let value: unknown = source
  let checker: Checker
  if (typeof source === 'string') {
    if (source.length > STRATEGY_LIMITS.maxBytes) {
      const error = {
        path: '',
        message: `strategy is ${source.length} bytes; at most ${STRATEGY_LIMITS.maxBytes} are accepted`,
        ...(options.file ? { file: options.file } : {}),
      }
      return { valid: false, errors: [error], warnings: [], notes: [], resolved_features: [] }
    }
    const depth = yamlNestingDepth(source, STRATEGY_LIMITS.maxNesting)
    if (depth > STRATEGY_LIMITS.maxNesting) {
      const error = {
        path: '',
        message: `strategy nests more than ${STRATEGY_LIMITS.maxNesting} levels deep (indentation, "- " entries and brackets); at most ${STRATEGY_LIMITS.maxNesting} are accepted`,
        ...(options.file ? { file: options.file } : {}),
      }
      return { valid: false, errors: [error], warnings: [], notes: [], resolved_features: [] }
    }
    const parsed = parseYamlSource(source)
    checker = new Checker(parsed.doc, parsed.lines, options.file)
    if (parsed.yamlErrors.length) {
      for (const e of parsed.yamlErrors)
        checker.errors.push({
          path: '',
          message: `YAML syntax: ${e.message}`,
          ...(e.line ? { line: e.line } : {}),
          ...(options.file ? { file: options.file } : {}),
        })
      return { valid: false, errors: checker.errors, warnings: [], notes: [], resolved_features: [] }
    }
    value = parsed.value
  } else checker = new Checker(undefined, undefined, options.file)
  const c = checker
  const r = new Reader(c)
  if (!isObj(value)) {
    c.error([], `expected a strategy mapping at the top level, got ${describe(value)}`)
    return { valid: false, errors: c.errors, warnings: c.warnings, notes: c.notes, resolved_features: [] }
  }
  const root = value
  // docs/domain.md#strategy-format: v3 iff indicators is a mapping and nn_inputs exists.
  if (Array.isArray(root.indicators) || root.nn_inputs === undefined) {
    const why = Array.isArray(root.indicators) ? 'indicators is a list' : 'nn_inputs is missing'
    c.error(
      Array.isArray(root.indicators) ? ['indicators'] : ['nn_inputs'],
      `not a v3 strategy (${why}): migrate it to v3 — indicators as a mapping <id>: {type, params}, fuzzy_sets referencing indicator ids, and an nn_inputs list`,
    )
    return { valid: false, errors: c.errors, warnings: c.warnings, notes: c.notes, resolved_features: [] }
  }
  // Counts before the grammar's checks: an oversized strategy is refused for what it is, cheaply.
  const counts: Array<[string, unknown, number]> = [
    ['indicators', isObj(root.indicators) ? Object.keys(root.indicators).length : 0, STRATEGY_LIMITS.indicators],
    [
      'fuzzy_sets',
      isObj(root.fuzzy_sets)
        ? Object.values(root.fuzzy_sets).reduce<number>((n, sets) => n + (isObj(sets) ? Object.keys(sets).length : 1), 0)
        : 0,
      STRATEGY_LIMITS.fuzzySets,
    ],
    ['nn_inputs', Array.isArray(root.nn_inputs) ? root.nn_inputs.length : 0, STRATEGY_LIMITS.nnInputs],
  ]
  for (const [key, count, max] of counts)
    if ((count as number) > max) c.error([key], `has ${count as number} entries; at most ${max} are accepted`)
  if (c.errors.length) return { valid: false, errors: c.errors, warnings: c.warnings, notes: c.notes, resolved_features: [] }
  const yamlName = r.str(root, 'name', [], { required: true }) ?? ''
  const name = options.name ?? yamlName
  if (options.name !== undefined && yamlName && yamlName !== options.name)
    c.note(
      ['name'],
      `name "${yamlName}" differs from the file name: the strategy is stored, trained and listed as "${options.name}" (upload rewrites name: to match)`,
    )
  const version = r.str(root, 'version', [], { fallback: '3.0' }) ?? '3.0'
  if (!/^3(\.0)?$/.test(version)) c.warn(['version'], `version ${JSON.stringify(version)} is not "3.0"; validating as v3`)
  const scope = r.str(root, 'scope', [], { values: SCOPES }) as ResolvedStrategy['scope']
  for (const key of ['indicators', 'fuzzy_sets']) {
    if (root[key] === undefined || root[key] === null) c.error([key], 'is required (a mapping)')
    else if (!isObj(root[key])) c.error([key], `expected a mapping, got ${describe(root[key])}`)
  }

  const training_data = readTrainingData(r, root)
  const context_data = readContextData(r, root)
  const indicators = readIndicators(r, root, context_data)
  const fuzzy_sets = readFuzzySets(r, root, indicators)
  const nn_inputs = readNnInputs(r, root, training_data, indicators, fuzzy_sets)
  const model = readModel(r, root)
  const decisions = readDecisions(r, root)
  const training = readTraining(r, root, decisions.output_format)
  const features = resolveFeatureSpecs(nn_inputs, fuzzy_sets)

  const seen = new Set<string>()
  nn_inputs.forEach((input, i) => {
    const names = resolveFeatureSpecs([input], fuzzy_sets).map((f) => f.name)
    const dup = names.find((n) => seen.has(n))
    if (dup) c.error(['nn_inputs', i], `duplicate feature "${dup}": this input repeats an earlier one`)
    for (const n of names) seen.add(n)
  })

  // Warnings for what is declared but never reaches the model.
  const usedSets = new Set(nn_inputs.filter((i) => i.kind === 'fuzzy').map((i) => i.ref))
  const usedIndicators = new Set<string>([
    ...nn_inputs.filter((i) => i.kind === 'raw').map((i) => i.indicator),
    ...Object.values(fuzzy_sets)
      .filter((f) => usedSets.has(f.id))
      .map((f) => f.indicator),
  ])
  for (const id of Object.keys(indicators))
    if (!usedIndicators.has(id)) c.warn(['indicators', id], `indicator "${id}" is defined but unused (no nn_input reaches it)`)
  for (const id of Object.keys(fuzzy_sets))
    if (!usedSets.has(id)) c.warn(['fuzzy_sets', id], `fuzzy set "${id}" is defined but not used by any nn_input`)
  const usedSources = new Set(
    Object.values(indicators)
      .filter((i) => usedIndicators.has(i.id) && i.data_source)
      .map((i) => i.data_source),
  )
  context_data.forEach((entry, i) => {
    if (!entry.source_ids.some((s) => usedSources.has(s)))
      c.warn(
        ['context_data', i],
        `context_data ${entry.provider} (${entry.source_ids.join(', ') || 'no source id'}) is declared but unused`,
      )
  })
  const backtest = isObj(root.backtest) ? (root.backtest as ResolvedStrategy['backtest']) : undefined
  const deployment = isObj(root.deployment) ? root.deployment : undefined

  const valid = c.errors.length === 0
  const resolved_features = valid ? features.map((f) => f.name) : []
  const strategy: ResolvedStrategy | undefined = valid
    ? {
        name,
        version,
        training_data,
        context_data,
        indicators,
        fuzzy_sets,
        nn_inputs,
        model,
        decisions,
        training,
        resolved_features,
        features,
        ...(typeof root.description === 'string' ? { description: root.description.trim() } : {}),
        ...(scope ? { scope } : {}),
        ...(backtest ? { backtest } : {}),
        ...(deployment ? { deployment } : {}),
      }
    : undefined
  return { valid, errors: c.errors, warnings: c.warnings, notes: c.notes, resolved_features, ...(strategy ? { strategy } : {}) }
}

/** `file:line: path: message` — the form the CLI prints. */
export function formatStrategyIssue(issue: StrategyIssue): string {
  const where = [issue.file, issue.line].filter((v) => v !== undefined).join(':')
  return `${where ? `${where}: ` : ''}${issue.path ? `${issue.path}: ` : ''}${issue.message}`
}

/** Validates and returns the resolved strategy, or throws STRATEGY_INVALID (422) listing every error. */
export function resolveStrategy(source: string | Obj, options: ParseStrategyOptions = {}): ResolvedStrategy {
  const result = validateStrategy(source, options)
  if (!result.strategy) {
    throw new KtrdrError({
      code: 'STRATEGY_INVALID',
      message: `Strategy${options.file ? ` ${options.file}` : ''} is invalid: ${result.errors.map(formatStrategyIssue).join('; ')}`,
      details: { errors: result.errors, warnings: result.warnings },
    })
  }
  return result.strategy
}
