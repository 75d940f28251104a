// Strict parameter resolution. Fixes the KTRDR quirk recorded in docs/decisions.md#indicators: params an indicator does not accept are
// no longer dropped silently; each one yields a warning (with a "did you mean" hint) and the
// default applies. A param's declared aliases (MACD's `fast` for `fast_period`) resolve to it.
import type { IndicatorDefinition, IndicatorParamSpec } from '../types.ts'
import { SOURCES, type ResolvedParams } from './_define.ts'
import { didYouMean } from '../../runtime/protocol/index.ts'

export interface IndicatorParamIssue {
  /** The offending param key, when the issue is about one. */
  param?: string
  message: string
}

export interface ResolvedIndicatorParams {
  params: ResolvedParams
  warnings: IndicatorParamIssue[]
  errors: IndicatorParamIssue[]
}

/** Keys that belong to the strategy's indicator entry, not to the indicator itself. */
const ENTRY_KEYS = new Set(['type', 'data_source'])

export function resolveParamsFor(def: IndicatorDefinition, input: Record<string, unknown> | undefined | null): ResolvedIndicatorParams {
  const params: ResolvedParams = {}
  const warnings: IndicatorParamIssue[] = []
  const errors: IndicatorParamIssue[] = []
  const known = Object.keys(def.params)
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input))) {
    for (const [key, spec] of Object.entries(def.params)) params[key] = spec.default
    errors.push({ message: `${def.type}: params must be a mapping of name: value (got ${Array.isArray(input) ? 'a list' : typeof input})` })
    return { params, warnings, errors }
  }
  const given = input ?? {}
  const canonical = new Map<string, string>()
  for (const [key, spec] of Object.entries(def.params)) for (const name of spec.aliases ?? []) canonical.set(name, key)
  const names = Object.entries(def.params).map(([key, spec]) => (spec.aliases?.length ? `${key} (or ${spec.aliases.join(', ')})` : key))

  // Each declared param once, under its own name or an alias; the name used is kept for messages.
  const chosen = new Map<string, { value: unknown; as: string }>()
  for (const key of Object.keys(given)) {
    if (ENTRY_KEYS.has(key)) continue
    const target = key in def.params ? key : canonical.get(key)
    if (target === undefined) {
      const hint = suggest(key, [...known, ...canonical.keys()])
      const accepted = known.length ? `accepted: ${names.join(', ')}` : 'it takes no params'
      warnings.push({
        param: key,
        message: `unknown param '${key}' for ${def.type}; ${hint ? `did you mean '${hint}'? ` : ''}it is ignored (${accepted})`,
      })
      continue
    }
    const prior = chosen.get(target)
    if (prior) {
      errors.push({ param: key, message: `${def.type}: '${prior.as}' and '${key}' are the same param (${target}); give it once` })
      continue
    }
    chosen.set(target, { value: given[key], as: key })
  }

  for (const [key, spec] of Object.entries(def.params)) {
    const entry = chosen.get(key)
    const value = entry?.value
    if (entry === undefined || value === undefined || value === null) {
      params[key] = spec.default
      continue
    }
    const problem = check(spec, value)
    if (problem) {
      errors.push({ param: entry.as, message: `${def.type}.${entry.as}: ${problem} (got ${JSON.stringify(value)})` })
      params[key] = spec.default
      continue
    }
    params[key] = normalise(spec, value)
  }
  return { params, warnings, errors }
}

function check(spec: IndicatorParamSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be an integer'
      return range(value, spec.min, spec.max, false)
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number'
      return range(value, spec.min, spec.max, spec.exclusiveMin ?? false)
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'must be true or false'
    case 'enum':
      if (typeof value !== 'string' || !spec.values.some((v) => v.toLowerCase() === value.toLowerCase()))
        return `must be one of ${spec.values.join(', ')}`
      return undefined
    case 'source':
      if (typeof value !== 'string' || !(SOURCES as readonly string[]).includes(value.toLowerCase()))
        return `must be one of ${SOURCES.join(', ')}`
      return undefined
  }
}

function range(v: number, min: number | undefined, max: number | undefined, exclusiveMin: boolean): string | undefined {
  const lo = min === undefined ? '' : exclusiveMin ? `(${min}` : `[${min}`
  const hi = max === undefined ? '' : `${max}]`
  const span = `${lo || '(-inf'}..${hi || 'inf)'}`
  if (min !== undefined && (exclusiveMin ? v <= min : v < min)) return `must be in ${span}`
  if (max !== undefined && v > max) return `must be in ${span}`
  return undefined
}

function normalise(spec: IndicatorParamSpec, value: unknown): unknown {
  if (spec.kind === 'enum') return spec.values.find((v) => v.toLowerCase() === (value as string).toLowerCase())
  if (spec.kind === 'source') return (value as string).toLowerCase()
  return value
}

/** Closest accepted name: a parameter's short form (`fast` → `fast_period`), else the protocol's did-you-mean. */
export function suggest(key: string, candidates: readonly string[]): string | undefined {
  const k = key.toLowerCase()
  return candidates.find((c) => c.replace(/_period$/, '') === k) ?? didYouMean(k, candidates)
}
