import type { IndicatorDefinition } from '../types.ts'
import { describe, isObj, type Checker, type Obj, type Reader } from './_context.ts'
import { getIndicator, resolveIndicatorParams } from './_indicators.ts'
import { MEMBERSHIP_SHAPES } from './grammar.ts'
import type { ContextDataEntry, MembershipType, ResolvedFuzzySet, ResolvedIndicator, ResolvedMembership } from './types.ts'

export const ID_RE = /^[a-zA-Z][a-zA-Z0-9_-]*$/
const RESERVED = new Set(['open', 'high', 'low', 'close', 'volume'])
const MEMBERSHIP_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/

/**
 * Membership type names, from the grammar's shapes. `triangle`/`trapezoid` are accepted as aliases
 * and `sigmoid` is implemented (KTRDR's validator listed them but its engine could not run them,
 * quirk 8).
 */
const SHAPES = new Map(MEMBERSHIP_SHAPES.map((s) => [s.type, s]))
const MF_TYPES: Record<string, MembershipType> = Object.fromEntries(
  MEMBERSHIP_SHAPES.flatMap((s) => [s.type, ...s.aliases].map((name) => [name, s.type])),
)

export function readIndicators(r: Reader, root: Obj, context: ContextDataEntry[]): Record<string, ResolvedIndicator> {
  const c = r.c
  const out: Record<string, ResolvedIndicator> = {}
  const section = root.indicators
  if (!isObj(section)) return out
  const sources = new Set(context.flatMap((e) => e.source_ids))
  for (const [id, def] of Object.entries(section)) {
    const path = ['indicators', id]
    if (!ID_RE.test(id)) {
      c.error(path, `indicator id "${id}" must match ^[a-zA-Z][a-zA-Z0-9_-]*$ (e.g. rsi_14)`)
      continue
    }
    if (RESERVED.has(id.toLowerCase())) {
      c.error(path, `indicator id "${id}" is reserved (open, high, low, close, volume): rename it, e.g. ${id.toLowerCase()}_ind`)
      continue
    }
    if (!isObj(def)) {
      c.error(path, `expected a mapping {type: <indicator>, <param>: <value>}, got ${describe(def)}`)
      continue
    }
    const type = def.type
    if (typeof type !== 'string' || !type) {
      c.error([...path, 'type'], 'is required (the indicator type, e.g. rsi)')
      continue
    }
    const indicator: IndicatorDefinition | undefined = getIndicator(type)
    if (!indicator) {
      c.error([...path, 'type'], `unknown indicator type "${type}"`)
      continue
    }
    const { type: _t, data_source, ...given } = def
    const resolved = resolveIndicatorParams(indicator.type, given)
    for (const w of resolved.warnings) c.warn(w.param ? [...path, w.param] : path, w.message)
    for (const e of resolved.errors) c.error(e.param ? [...path, e.param] : path, e.message)
    let dataSource: string | undefined
    if (data_source !== undefined) {
      if (typeof data_source !== 'string' || !sources.has(data_source)) {
        c.error(
          [...path, 'data_source'],
          `data_source ${describe(data_source)} does not match a context_data source id${sources.size ? ` (declared: ${[...sources].join(', ')})` : ' (no context_data declared)'}`,
        )
      } else dataSource = data_source
    }
    let outputs: string[] = []
    try {
      outputs = indicator.outputs(resolved.params)
    } catch (error) {
      c.error(path, `cannot resolve outputs: ${(error as Error).message}`)
    }
    out[id] = {
      id,
      type: indicator.type,
      params: resolved.params,
      outputs,
      multi_output: indicator.multiOutput,
      ...(dataSource ? { data_source: dataSource } : {}),
    }
  }
  return out
}

/** Resolves `<id>` or `<id>.<output>` against the indicators; reports and returns undefined on error. */
export function resolveIndicatorRef(
  c: Checker,
  ref: unknown,
  indicators: Record<string, ResolvedIndicator>,
  declared: Set<string>,
  path: (string | number)[],
): { indicator: string; output: string | null } | undefined {
  if (typeof ref !== 'string' || !ref) {
    c.error(path, `expected an indicator id (optionally <id>.<output>), got ${describe(ref)}`)
    return undefined
  }
  const dot = ref.indexOf('.')
  const id = dot === -1 ? ref : ref.slice(0, dot)
  const output = dot === -1 ? undefined : ref.slice(dot + 1)
  const ind = indicators[id]
  if (!ind) {
    // Declared but invalid indicators already carry their own error.
    if (!declared.has(id)) c.error(path, `unknown indicator "${id}"${declared.size ? ` (declared: ${[...declared].join(', ')})` : ''}`)
    return undefined
  }
  if (output === undefined) return { indicator: id, output: ind.multi_output ? (ind.outputs[0] ?? null) : null }
  if (!ind.multi_output) {
    c.error(path, `"${id}" (${ind.type}) has a single output: use "${id}" without ".${output}"`)
    return undefined
  }
  if (!ind.outputs.includes(output)) {
    c.error(path, `"${output}" is not an output of ${id} (${ind.type}); outputs: ${ind.outputs.join(', ')}`)
    return undefined
  }
  return { indicator: id, output }
}

export function readFuzzySets(r: Reader, root: Obj, indicators: Record<string, ResolvedIndicator>): Record<string, ResolvedFuzzySet> {
  const c = r.c
  const out: Record<string, ResolvedFuzzySet> = {}
  const section = root.fuzzy_sets
  if (!isObj(section)) return out
  const declared = new Set(isObj(root.indicators) ? Object.keys(root.indicators) : [])
  for (const [id, def] of Object.entries(section)) {
    const path = ['fuzzy_sets', id]
    if (!ID_RE.test(id)) {
      c.error(path, `fuzzy set id "${id}" must match ^[a-zA-Z][a-zA-Z0-9_-]*$`)
      continue
    }
    if (!isObj(def)) {
      c.error(path, `expected a mapping {indicator: <id>, <membership>: [a, b, c], ...}, got ${describe(def)}`)
      continue
    }
    if (def.indicator === undefined)
      c.error([...path, 'indicator'], 'is required (the indicator id this fuzzy set reads, e.g. rsi_14 or macd_12_26_9.line)')
    const ref =
      def.indicator === undefined ? undefined : resolveIndicatorRef(c, def.indicator, indicators, declared, [...path, 'indicator'])
    const memberships: ResolvedMembership[] = []
    for (const [name, mf] of Object.entries(def)) {
      if (name === 'indicator') continue
      if (!MEMBERSHIP_NAME_RE.test(name)) {
        c.error([...path, name], `membership name "${name}" must match ^[A-Za-z0-9_][A-Za-z0-9_-]*$`)
        continue
      }
      const m = readMembership(c, name, mf, [...path, name])
      if (m) memberships.push(m)
    }
    if (Object.keys(def).filter((k) => k !== 'indicator').length === 0)
      c.error(path, 'has no memberships: add at least one, e.g. low: [0, 25, 50]')
    if (ref) out[id] = { id, indicator_ref: def.indicator as string, indicator: ref.indicator, output: ref.output, memberships }
  }
  return out
}

function readMembership(c: Checker, name: string, mf: unknown, path: (string | number)[]): ResolvedMembership | undefined {
  let type: MembershipType
  let params: unknown
  let ppath = path
  if (Array.isArray(mf)) {
    if (mf.length !== 3) {
      c.error(
        path,
        `shorthand [..] always means triangular and needs exactly 3 numbers [a, b, c], got ${mf.length}${mf.length === 4 ? ': write {type: trapezoidal, parameters: [a, b, c, d]}' : ''}`,
      )
      return undefined
    }
    type = 'triangular'
    params = mf
  } else if (isObj(mf)) {
    const t = mf.type
    if (typeof t !== 'string' || !MF_TYPES[t.toLowerCase()]) {
      c.error([...path, 'type'], `expected a membership type (${[...SHAPES.keys()].join(', ')}), got ${describe(t)}`)
      return undefined
    }
    type = MF_TYPES[t.toLowerCase()]
    params = mf.parameters
    ppath = [...path, 'parameters']
    for (const k of Object.keys(mf))
      if (k !== 'type' && k !== 'parameters') c.warn([...path, k], `unknown membership key "${k}" is ignored (expected type, parameters)`)
  } else {
    c.error(path, `expected [a, b, c] or {type, parameters}, got ${describe(mf)}`)
    return undefined
  }
  if (!Array.isArray(params) || !params.every((p) => typeof p === 'number' && Number.isFinite(p))) {
    c.error(ppath, `expected a list of numbers, got ${describe(params)}`)
    return undefined
  }
  const p = params as number[]
  const shape = SHAPES.get(type)!
  const need = shape.parameters.length
  if (p.length !== need) {
    c.error(ppath, `${type} needs ${need} parameters ([${shape.parameters.join(', ')}]), got ${p.length}`)
    return undefined
  }
  if ((type === 'triangular' || type === 'trapezoidal') && p.some((v, i) => i > 0 && v < p[i - 1])) {
    c.error(ppath, `${type} parameters must be ordered ${shape.rule}, got [${p.join(', ')}]`)
    return undefined
  }
  if (type === 'gaussian' && !(p[1] > 0)) {
    c.error(ppath, `gaussian sigma must be > 0, got ${p[1]}`)
    return undefined
  }
  if (type === 'sigmoid' && p[1] === 0) {
    c.error(ppath, 'sigmoid slope must be non-zero (negative for a falling curve)')
    return undefined
  }
  return { name, type, parameters: p }
}
