// Authoring helpers for indicator definitions: param-spec builders, `defineIndicator`, and the
// price-source picker every `source`-taking kernel uses.
import type { IndicatorDefinition, IndicatorParamSpec, OhlcvSeries } from '../types.ts'
import { KtrdrError } from '../_errors.ts'

/** Resolved params: every declared param present, with its validated value. */
export type ResolvedParams = Record<string, unknown>

export const SOURCES = ['open', 'high', 'low', 'close', 'volume', 'hl2', 'hlc3', 'ohlc4'] as const
export type PriceSource = (typeof SOURCES)[number]

export const int = (def: number, min?: number, max?: number): IndicatorParamSpec => ({ kind: 'int', default: def, min, max })
export const float = (def: number, min?: number, max?: number, exclusiveMin = false): IndicatorParamSpec => ({
  kind: 'float',
  default: def,
  min,
  max,
  exclusiveMin,
})
export const bool = (def: boolean): IndicatorParamSpec => ({ kind: 'bool', default: def })
export const oneOf = (def: string, values: readonly string[]): IndicatorParamSpec => ({ kind: 'enum', default: def, values })
export const source = (): IndicatorParamSpec => ({ kind: 'source', default: 'close' })
/** The same param under other names a strategy may use (resolved to the canonical name). */
export const alias = (spec: IndicatorParamSpec, ...names: string[]): IndicatorParamSpec => ({ ...spec, aliases: names })

export function defineIndicator(def: IndicatorDefinition): IndicatorDefinition {
  return def
}

export const num = (params: ResolvedParams, key: string): number => params[key] as number
export const flag = (params: ResolvedParams, key: string): boolean => params[key] as boolean

/**
 * The price column a `source` param names. Derived sources (hl2, hlc3, ohlc4) cost one O(n)
 * allocation here, outside any bar loop.
 */
export function pickSource(bars: OhlcvSeries, name: unknown): Float64Array {
  switch (name) {
    case undefined:
    case 'close':
      return bars.close
    case 'open':
      return bars.open
    case 'high':
      return bars.high
    case 'low':
      return bars.low
    case 'volume':
      return bars.volume
    case 'hl2':
    case 'hlc3':
    case 'ohlc4': {
      const n = bars.length
      const out = new Float64Array(n)
      const { open, high, low, close } = bars
      if (name === 'hl2') for (let i = 0; i < n; i++) out[i] = (high[i] + low[i]) / 2
      else if (name === 'hlc3') for (let i = 0; i < n; i++) out[i] = (high[i] + low[i] + close[i]) / 3
      else for (let i = 0; i < n; i++) out[i] = (open[i] + high[i] + low[i] + close[i]) / 4
      return out
    }
    default:
      throw new KtrdrError({
        code: 'INDICATOR_PARAMS_INVALID',
        message: `unknown price source '${String(name)}'; use one of ${SOURCES.join(', ')}`,
      })
  }
}

/** Typical price (H+L+C)/3, shared by CCI, MFI and VWAP. */
export function typicalPrice(bars: OhlcvSeries): Float64Array {
  return pickSource(bars, 'hlc3')
}

export const nanArray = (n: number): Float64Array => new Float64Array(n).fill(NaN)
