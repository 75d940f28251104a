import type { OhlcvSeries } from '../types.ts'
import { KtrdrError } from '../_errors.ts'
import { createRng } from '../rng.ts'
import { createSeries, sliceSeries } from './series.ts'
import { assertSymbol, assertTimeframe, timeframeMs } from './_symbols.ts'
import { MS_PER_DAY, parseDateInput } from './_time.ts'

export type SyntheticPreset = 'forex' | 'equity'
/**
 * Optional planted structure. `none`: the plain market (regimes with a weak drift, see below).
 * `trend_regimes`: up- and down-trend regimes alternate, mean length PLANTED_REGIME_BARS bars,
 * with a drift of ±PLANTED_DRIFT × the bar volatility: a momentum indicator detects a regime
 * with a lag of a few dozen bars and a strategy can then ride the rest of it.
 */
export type SyntheticStructure = 'none' | 'trend_regimes'
export const PLANTED_DRIFT = 0.4
export const PLANTED_REGIME_BARS = 120
export const SYNTHETIC_GENERATOR = 'ktrdr-synthetic/1'

export interface SyntheticOptions {
  symbol: string
  timeframe: string
  preset?: SyntheticPreset
  seed?: number
  /** Number of bars; or give `end` instead. Default 5000 when neither is set. */
  bars?: number
  /** First bar on or after this time. Default 2020-01-01. */
  start?: string | number | Date
  end?: string | number | Date
  startPrice?: number
  /** Planted structure a strategy can learn (default none); recorded in the dataset's meta by callers. */
  structure?: SyntheticStructure
}

interface PresetSpec {
  annualVol: number
  price: number
  decimals: number
  tradingMinutesPerYear: number
}
const PRESETS: Record<SyntheticPreset, PresetSpec> = {
  forex: { annualVol: 0.08, price: 1.1, decimals: 5, tradingMinutesPerYear: 260 * 1440 },
  equity: { annualVol: 0.25, price: 150, decimals: 2, tradingMinutesPerYear: 252 * 390 },
}
const SESSION_OPEN = (14 * 60 + 30) * 60_000 // 09:30 New York as UTC (DST ignored)
const SESSION_CLOSE = 21 * 60 * 60_000
const MAX_BARS = 5_000_000

/** Day of week, 0 = Sunday, of an epoch-ms UTC time. */
const dow = (ms: number) => (Math.floor(ms / MS_PER_DAY) + 4) % 7

/** Next bar open time at or after `t`, honouring the preset's trading calendar. */
function nextBarTime(t: number, tfMs: number, preset: SyntheticPreset): number {
  for (let guard = 0; guard < 100_000; guard++) {
    const day = Math.floor(t / MS_PER_DAY) * MS_PER_DAY
    const tod = t - day
    const d = dow(t)
    if (tfMs >= 7 * MS_PER_DAY) {
      // Weekly bars open on Monday 00:00.
      if (d === 1 && tod === 0) return t
      return day + ((8 - d) % 7 || 7) * MS_PER_DAY
    }
    if (preset === 'equity') {
      if (d === 0 || d === 6) {
        t = day + MS_PER_DAY
        continue
      }
      if (tfMs >= MS_PER_DAY) return tod === 0 ? t : day + MS_PER_DAY
      if (tod < SESSION_OPEN) return day + SESSION_OPEN
      const k = Math.ceil((tod - SESSION_OPEN) / tfMs)
      const open = day + SESSION_OPEN + k * tfMs
      if (open - day < SESSION_CLOSE) return open
      t = day + MS_PER_DAY
      continue
    }
    // Forex: Sunday 22:00 → Friday 22:00 UTC; daily bars every day but Saturday.
    if (tfMs >= MS_PER_DAY) {
      if (d === 6) {
        t = day + MS_PER_DAY
        continue
      }
      return tod === 0 ? t : day + MS_PER_DAY
    }
    const aligned = Math.ceil(t / tfMs) * tfMs
    const ad = dow(aligned)
    const atod = aligned - Math.floor(aligned / MS_PER_DAY) * MS_PER_DAY
    if (ad === 6 || (ad === 5 && atod >= 22 * 3_600_000) || (ad === 0 && atod < 22 * 3_600_000)) {
      t = aligned + tfMs
      continue
    }
    return aligned
  }
  throw new Error('calendar search did not converge')
}

/**
 * A seeded synthetic market for demos and tests: Markov regime switching between up-trend,
 * down-trend and mean-reverting regimes; GARCH(1,1) volatility clustering; OHLC built around the
 * open→close path with wicks; volume that rises with absolute returns. Marked `synthetic`.
 */
export function generateSyntheticSeries(options: SyntheticOptions): OhlcvSeries {
  const symbol = assertSymbol(options.symbol)
  const timeframe = assertTimeframe(options.timeframe)
  const preset = options.preset ?? 'forex'
  if (!PRESETS[preset])
    throw new KtrdrError({
      code: 'DATA_INVALID_PRESET',
      message: `Unknown preset "${preset}": use forex or equity`,
    })
  const spec = PRESETS[preset]
  const seed = options.seed ?? 42
  const tfMs = timeframeMs(timeframe)
  const startMs = parseDateInput(options.start ?? '2020-01-01')
  const endMs = options.end === undefined ? Number.POSITIVE_INFINITY : parseDateInput(options.end)
  if (Number.isNaN(startMs) || Number.isNaN(endMs))
    throw new KtrdrError({
      code: 'DATA_INVALID_DATE',
      message: 'start/end must be YYYY-MM-DD, ISO timestamps or epoch ms',
    })
  const wanted = options.bars ?? (options.end === undefined ? 5000 : MAX_BARS)
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_BARS)
    throw new KtrdrError({
      code: 'DATA_INVALID_BARS',
      message: `bars must be an integer in [1, ${MAX_BARS}]`,
    })

  const rng = createRng(seed)
  const barMinutes = tfMs / 60_000
  const effMinutes =
    preset === 'equity' && tfMs >= MS_PER_DAY ? 390 * (tfMs / MS_PER_DAY) * (tfMs >= 7 * MS_PER_DAY ? 5 / 7 : 1) : barMinutes
  const baseVol = spec.annualVol * Math.sqrt(effMinutes / spec.tradingMinutesPerYear)
  const alpha = 0.08,
    beta = 0.9,
    omega = baseVol * baseVol * (1 - alpha - beta)
  const planted = options.structure === 'trend_regimes'
  if (options.structure !== undefined && options.structure !== 'none' && !planted)
    throw new KtrdrError({
      code: 'DATA_INVALID_STRUCTURE',
      message: `Unknown structure "${String(options.structure)}": use none or trend_regimes`,
    })
  const meanRegimeBars = planted ? PLANTED_REGIME_BARS : 250
  const scale = 10 ** spec.decimals
  const round = (x: number) => Math.round(x * scale) / scale

  const cap = Number.isFinite(endMs) ? Math.min(wanted, Math.ceil((endMs - startMs) / tfMs) + 1) : wanted
  const out = createSeries(symbol, timeframe, Math.max(1, cap))
  let t = nextBarTime(startMs, tfMs, preset)
  let logP = Math.log(options.startPrice ?? spec.price)
  let variance = baseVol * baseVol
  let shock = 0
  let regime = 0 // 0 up, 1 down, 2 mean-revert
  let anchor = logP
  let prevT = Number.NaN
  let n = 0
  while (n < cap && t <= endMs) {
    if (rng.uniform() < 1 / meanRegimeBars) {
      regime = planted ? 1 - regime : (regime + 1 + Math.floor(rng.uniform() * 2)) % 3
      anchor = logP
    }
    variance = omega + alpha * shock * shock + beta * variance
    const sigma = Math.sqrt(variance)
    // A gap at equity session opens (overnight news) and forex week opens.
    const gap = n > 0 && t - prevT > 2 * tfMs ? rng.normal() * sigma * (preset === 'equity' ? 1.5 : 0.5) : 0
    const drift = planted
      ? (regime === 0 ? PLANTED_DRIFT : -PLANTED_DRIFT) * baseVol
      : regime === 0
        ? 0.08 * baseVol
        : regime === 1
          ? -0.08 * baseVol
          : -0.03 * (logP - anchor)
    const z = rng.normal()
    shock = sigma * z
    const open = Math.exp(logP + gap)
    logP = logP + gap + drift + shock
    const close = Math.exp(logP)
    const o = round(open),
      c = round(close)
    const wickUp = Math.abs(rng.normal()) * sigma * 0.6
    const wickDown = Math.abs(rng.normal()) * sigma * 0.6
    const h = Math.max(round(Math.max(open, close) * Math.exp(wickUp)), o, c)
    const l = Math.min(round(Math.min(open, close) * Math.exp(-wickDown)), o, c)
    const activity = 1 + 2 * Math.abs(z) + (regime === 2 ? 0 : 0.3)
    const vol =
      preset === 'equity'
        ? Math.round(Math.exp(rng.normal() * 0.3) * 50_000 * activity * Math.max(1, barMinutes / 60))
        : Math.round(Math.exp(rng.normal() * 0.3) * 400 * activity * Math.max(1, barMinutes / 60))
    out.time[n] = t
    out.open[n] = o
    out.high[n] = h
    out.low[n] = l
    out.close[n] = c
    out.volume[n] = vol
    n++
    prevT = t
    t = nextBarTime(t + tfMs, tfMs, preset)
  }
  const series = sliceSeries(out, 0, n)
  series.synthetic = true
  return series
}
