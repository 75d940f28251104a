// What a strategy author needs to know about an indicator, as plain data: `ktrdr indicators` prints
// it and scripts/grammar-docs.ts renders docs/strategy-grammar.md from it, both from the registry.
import type { IndicatorDefinition, IndicatorParamSpec } from '../types.ts'
import { SOURCES } from './_define.ts'
import { listIndicators, requireIndicator } from './registry.ts'
import { resolveParamsFor } from './_params.ts'

export interface IndicatorParamInfo {
  name: string
  /** int, number, bool, one of `values`, or a price source. */
  type: 'int' | 'number' | 'bool' | 'choice' | 'source'
  default: number | boolean | string
  min?: number
  max?: number
  exclusive_min?: boolean
  values?: readonly string[]
  /** Other names the param is accepted under. */
  aliases: readonly string[]
  /** The accepted values in one line: `[1..100]`, `(0..10]`, `true|false`, `SMA|EMA`. */
  accepts: string
}

export interface IndicatorInfo {
  type: string
  title: string
  aliases: readonly string[]
  params: IndicatorParamInfo[]
  /** At the default params; the first is the primary one (what a bare `<id>` reads). */
  outputs: string[]
  /** Outputs that appear only when a flag is flipped from its default. */
  conditional_outputs: Array<{ when: string; outputs: string[] }>
  multi_output: boolean
  /** At the default params. */
  min_bars: number
  /** Leading NaN bars at the default params. */
  warmup: number
}

function accepts(spec: IndicatorParamSpec): string {
  switch (spec.kind) {
    case 'int':
    case 'float': {
      if (spec.min === undefined && spec.max === undefined) return 'any number'
      const lo = spec.min === undefined ? '(−∞' : `${spec.kind === 'float' && spec.exclusiveMin ? '(' : '['}${spec.min}`
      const hi = spec.max === undefined ? '∞)' : `${spec.max}]`
      return `${lo}..${hi}`
    }
    case 'bool':
      return 'true|false'
    case 'enum':
      return spec.values.join('|')
    case 'source':
      return SOURCES.join('|')
  }
}

function paramInfo(name: string, spec: IndicatorParamSpec): IndicatorParamInfo {
  const type = spec.kind === 'float' ? 'number' : spec.kind === 'enum' ? 'choice' : spec.kind
  return {
    name,
    type,
    default: spec.default,
    ...(spec.kind === 'int' || spec.kind === 'float'
      ? {
          ...(spec.min !== undefined ? { min: spec.min } : {}),
          ...(spec.max !== undefined ? { max: spec.max } : {}),
          ...(spec.kind === 'float' && spec.exclusiveMin ? { exclusive_min: true } : {}),
        }
      : {}),
    ...(spec.kind === 'enum' ? { values: spec.values } : spec.kind === 'source' ? { values: SOURCES } : {}),
    aliases: spec.aliases ?? [],
    accepts: accepts(spec),
  }
}

export function describeIndicator(def: IndicatorDefinition): IndicatorInfo {
  const defaults = resolveParamsFor(def, {}).params
  const outputs = def.outputs(defaults)
  const conditional_outputs: IndicatorInfo['conditional_outputs'] = []
  for (const [name, spec] of Object.entries(def.params)) {
    if (spec.kind !== 'bool') continue
    const flipped = def.outputs({ ...defaults, [name]: !spec.default }).filter((o) => !outputs.includes(o))
    if (flipped.length) conditional_outputs.push({ when: `${name}: ${!spec.default}`, outputs: flipped })
  }
  return {
    type: def.type,
    title: def.title ?? def.type,
    aliases: def.aliases,
    params: Object.entries(def.params).map(([name, spec]) => paramInfo(name, spec)),
    outputs,
    conditional_outputs,
    multi_output: def.multiOutput,
    min_bars: def.minBars(defaults),
    warmup: def.warmup(defaults),
  }
}

/** Every indicator in registry order, or the one a type or alias names (400 INDICATOR_UNKNOWN with a hint). */
export function describeIndicators(type?: string): IndicatorInfo[] {
  return type === undefined ? listIndicators().map(describeIndicator) : [describeIndicator(requireIndicator(type))]
}
