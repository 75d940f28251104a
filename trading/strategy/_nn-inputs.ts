import type { Timeframe } from '../types.ts'
import { describe, isObj, type Obj, type Reader } from './_context.ts'
import { resolveIndicatorRef } from './_fuzzy-sets.ts'
import { NORMALIZATIONS } from './grammar.ts'
import type { FeatureSpec, NormalizationMethod, ResolvedFuzzySet, ResolvedIndicator, ResolvedNnInput, TrainingData } from './types.ts'

export function readNnInputs(
  r: Reader,
  root: Obj,
  td: TrainingData,
  indicators: Record<string, ResolvedIndicator>,
  fuzzySets: Record<string, ResolvedFuzzySet>,
): ResolvedNnInput[] {
  const c = r.c
  const list = root.nn_inputs
  if (list === undefined || list === null) return []
  if (!Array.isArray(list)) {
    c.error(['nn_inputs'], `expected a list of {fuzzy_set|raw_indicator, timeframes}, got ${describe(list)}`)
    return []
  }
  if (list.length === 0) c.error(['nn_inputs'], 'is empty: the model needs at least one input')
  const declaredIndicators = new Set(isObj(root.indicators) ? Object.keys(root.indicators) : [])
  const declaredSets = new Set(isObj(root.fuzzy_sets) ? Object.keys(root.fuzzy_sets) : [])
  const out: ResolvedNnInput[] = []
  list.forEach((entry, i) => {
    const path = ['nn_inputs', i]
    if (!isObj(entry)) return c.error(path, `expected a mapping, got ${describe(entry)}`)
    const hasFuzzy = entry.fuzzy_set !== undefined
    const hasRaw = entry.raw_indicator !== undefined
    if (hasFuzzy === hasRaw) return c.error(path, 'needs exactly one of fuzzy_set or raw_indicator')
    for (const k of Object.keys(entry))
      if (!['fuzzy_set', 'raw_indicator', 'timeframes', 'normalization'].includes(k)) c.warn([...path, k], `unknown key "${k}" is ignored`)
    const timeframes = readTimeframes(r, entry, td, path)
    let normalization: NormalizationMethod = 'none'
    if (entry.normalization !== undefined) {
      if (hasFuzzy)
        c.error([...path, 'normalization'], 'normalization is only allowed with raw_indicator (memberships are already in [0, 1])')
      else
        normalization = (r.str(entry, 'normalization', path, { fallback: 'none', values: NORMALIZATIONS }) ?? 'none') as NormalizationMethod
    }
    if (hasFuzzy) {
      const id = entry.fuzzy_set
      if (typeof id !== 'string') return c.error([...path, 'fuzzy_set'], `expected a fuzzy set id, got ${describe(id)}`)
      const fs = fuzzySets[id]
      if (!fs) {
        if (!declaredSets.has(id))
          c.error(
            [...path, 'fuzzy_set'],
            `unknown fuzzy set "${id}"${declaredSets.size ? ` (declared: ${[...declaredSets].join(', ')})` : ''}`,
          )
        return
      }
      if (timeframes) out.push({ kind: 'fuzzy', ref: id, indicator: fs.indicator, output: fs.output, timeframes, normalization: 'none' })
    } else {
      const ref = resolveIndicatorRef(c, entry.raw_indicator, indicators, declaredIndicators, [...path, 'raw_indicator'])
      if (ref && timeframes)
        out.push({
          kind: 'raw',
          ref: entry.raw_indicator as string,
          indicator: ref.indicator,
          output: ref.output,
          timeframes,
          normalization,
        })
    }
  })
  return out
}

function readTimeframes(r: Reader, entry: Obj, td: TrainingData, path: (string | number)[]): Timeframe[] | undefined {
  const c = r.c
  const v = entry.timeframes ?? 'all'
  if (v === 'all') return [...td.declared_timeframes]
  if (!Array.isArray(v) || v.length === 0) {
    c.error([...path, 'timeframes'], `expected "all" or a non-empty list of timeframes, got ${describe(v)}`)
    return undefined
  }
  const out: Timeframe[] = []
  let ok = true
  v.forEach((tf, j) => {
    if (typeof tf !== 'string' || !td.declared_timeframes.includes(tf as Timeframe)) {
      ok = false
      c.error(
        [...path, 'timeframes', j],
        `timeframe ${describe(tf)} is not in training_data.timeframes [${td.declared_timeframes.join(', ')}]`,
      )
    } else if (out.includes(tf as Timeframe)) {
      ok = false
      c.error([...path, 'timeframes', j], `duplicate timeframe ${tf}`)
    } else out.push(tf as Timeframe)
  })
  return ok ? out : undefined
}

/**
 * docs/domain.md#nn-inputs canonical order: nn_inputs in YAML order → the entry's timeframes → memberships in YAML
 * order. Fuzzy: `<tf>_<set>_<membership>`; raw: `<tf>_<ref>_raw`.
 */
export function resolveFeatureSpecs(inputs: ResolvedNnInput[], fuzzySets: Record<string, ResolvedFuzzySet>): FeatureSpec[] {
  const out: FeatureSpec[] = []
  for (const input of inputs) {
    for (const tf of input.timeframes) {
      if (input.kind === 'fuzzy') {
        const fs = fuzzySets[input.ref]
        for (const m of fs.memberships)
          out.push({
            name: `${tf}_${fs.id}_${m.name}`,
            timeframe: tf,
            kind: 'fuzzy',
            indicator: fs.indicator,
            output: fs.output,
            fuzzy_set: fs.id,
            membership: m,
            normalization: 'none',
          })
      } else {
        out.push({
          name: `${tf}_${input.ref}_raw`,
          timeframe: tf,
          kind: 'raw',
          indicator: input.indicator,
          output: input.output,
          normalization: input.normalization,
        })
      }
    }
  }
  return out
}
