// The indicator registry (docs/domain.md#indicator-registry): lookup by type (case-insensitive, with aliases), strict param
// resolution, and `computeIndicator`, the one call the feature builder and backtest need.
import type { IndicatorDefinition, OhlcvSeries } from '../types.ts'
import { KtrdrError } from '../_errors.ts'
import { resolveParamsFor, suggest, type ResolvedIndicatorParams } from './_params.ts'
import { sma, ema, wma, macd } from './trend.ts'
import { rsi, roc, momentum, cci, williamsr, stochastic } from './momentum.ts'
import { atr, bollingerbands, bollingerbandwidth, keltnerchannels, donchianchannels, squeezeintensity } from './volatility.ts'
import { adx, aroon, supertrend, parabolicsar, ichimoku } from './directional.ts'
import { rvi, fishertransform } from './oscillators.ts'
import { obv, vwap, mfi, cmf, adline, volumeratio } from './volume.ts'
import { distancefromma, zigzag } from './misc.ts'

export type { IndicatorParamIssue, ResolvedIndicatorParams } from './_params.ts'

const DEFINITIONS: readonly IndicatorDefinition[] = [
  rsi,
  sma,
  ema,
  wma,
  macd,
  bollingerbands,
  bollingerbandwidth,
  atr,
  stochastic,
  adx,
  roc,
  momentum,
  cci,
  williamsr,
  obv,
  vwap,
  mfi,
  cmf,
  adline,
  aroon,
  fishertransform,
  rvi,
  keltnerchannels,
  donchianchannels,
  supertrend,
  parabolicsar,
  ichimoku,
  volumeratio,
  distancefromma,
  squeezeintensity,
  zigzag,
]

// Registry keys follow KTRDR: class name minus `Indicator`, lower-cased (so SMA's key is
// `simplemovingaverage`), and every short name and full class name is an alias.
const LOOKUP = new Map<string, IndicatorDefinition>()
for (const def of DEFINITIONS) {
  for (const name of [def.type, ...def.aliases]) {
    const key = normaliseType(name)
    const clash = LOOKUP.get(key)
    if (clash && clash !== def) throw new Error(`indicator alias '${name}' is claimed by both ${clash.type} and ${def.type}`)
    LOOKUP.set(key, def)
  }
}

function normaliseType(name: string): string {
  return name.toLowerCase().replace(/[\s_-]/g, '')
}

/** The definition for a type or alias (case-insensitive), or undefined. */
export function getIndicator(type: string): IndicatorDefinition | undefined {
  return typeof type === 'string' ? LOOKUP.get(normaliseType(type)) : undefined
}

/** Every definition, in docs/domain.md#indicator-catalogue catalogue order. */
export function listIndicators(): readonly IndicatorDefinition[] {
  return DEFINITIONS
}

/** Like getIndicator, but throws a 400 KtrdrError naming the closest known type. */
export function requireIndicator(type: string): IndicatorDefinition {
  const def = getIndicator(type)
  if (def) return def
  const names = [...LOOKUP.keys()]
  const hint = suggest(normaliseType(String(type)), names)
  throw new KtrdrError({
    code: 'INDICATOR_UNKNOWN',
    message: `unknown indicator type '${String(type)}'${hint ? `; did you mean '${hint}'?` : ''} Known types: ${DEFINITIONS.map((d) => d.type).join(', ')}`,
  })
}

/**
 * Validates params against the definition: ints must be integers, numbers within docs/domain.md#indicator-catalogue ranges,
 * unknown keys produce warnings (the default applies), `type`/`data_source` entry keys are ignored.
 * Unknown types are reported as an error, not thrown.
 */
export function resolveIndicatorParams(type: string, params?: Record<string, unknown> | null): ResolvedIndicatorParams {
  const def = getIndicator(type)
  if (!def) {
    const hint = suggest(normaliseType(String(type)), [...LOOKUP.keys()])
    return {
      params: {},
      warnings: [],
      errors: [{ message: `unknown indicator type '${String(type)}'${hint ? `; did you mean '${hint}'?` : ''}` }],
    }
  }
  return resolveParamsFor(def, params)
}

export interface ComputeIndicatorOptions {
  /** Called once per param warning (unknown keys); defaults to ignoring them. */
  onWarning?: (message: string) => void
}

/**
 * Validates params, checks the bar count against minBars, runs the kernel and returns exactly the
 * declared outputs. Throws KtrdrError: 400 INDICATOR_PARAMS_INVALID / INDICATOR_UNKNOWN,
 * 422 INDICATOR_INSUFFICIENT_DATA, 422 INDICATOR_INVALID_DATA (e.g. MFI on negative volume).
 */
export function computeIndicator(
  type: string,
  params: Record<string, unknown> | null | undefined,
  bars: OhlcvSeries,
  options: ComputeIndicatorOptions = {},
): Record<string, Float64Array> {
  const def = requireIndicator(type)
  const resolved = resolveParamsFor(def, params)
  if (resolved.errors.length > 0) {
    throw new KtrdrError({
      code: 'INDICATOR_PARAMS_INVALID',
      message: `invalid params for ${def.type}: ${resolved.errors.map((e) => e.message).join('; ')}`,
      details: { errors: resolved.errors },
    })
  }
  for (const w of resolved.warnings) options.onWarning?.(w.message)
  const min = def.minBars(resolved.params)
  if (bars.length < min) {
    throw new KtrdrError({
      code: 'INDICATOR_INSUFFICIENT_DATA',
      message: `${def.type} needs at least ${min} bars, got ${bars.length}${bars.symbol ? ` for ${bars.symbol} ${bars.timeframe}` : ''}; load a longer date range or use shorter periods`,
      details: { required: min, provided: bars.length },
    })
  }
  const result = def.compute(bars, resolved.params)
  const declared = def.outputs(resolved.params)
  const got = Object.keys(result)
  if (got.length !== declared.length || declared.some((name) => !(name in result))) {
    throw new KtrdrError({
      code: 'INDICATOR_OUTPUT_MISMATCH',
      message: `${def.type} returned outputs [${got.join(', ')}] but declares [${declared.join(', ')}]`,
    })
  }
  return result
}
