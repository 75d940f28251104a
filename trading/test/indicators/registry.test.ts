import { describe, expect, it } from 'vitest'
import { computeIndicator, getIndicator, listIndicators, requireIndicator, resolveIndicatorParams } from '../../indicators/registry.ts'
import { barsFrom, randomBars } from './_bars.ts'

const CATALOGUE = [
  'rsi',
  'sma',
  'ema',
  'wma',
  'macd',
  'bollingerbands',
  'bollingerbandwidth',
  'atr',
  'stochastic',
  'adx',
  'roc',
  'momentum',
  'cci',
  'williamsr',
  'obv',
  'vwap',
  'mfi',
  'cmf',
  'adline',
  'aroon',
  'fishertransform',
  'rvi',
  'keltnerchannels',
  'donchianchannels',
  'supertrend',
  'parabolicsar',
  'ichimoku',
  'volumeratio',
  'distancefromma',
  'squeezeintensity',
  'zigzag',
]

describe('registry lookup (docs/domain.md#indicator-registry)', () => {
  it('holds exactly the 31 catalogue types', () => {
    expect(
      listIndicators()
        .map((d) => d.type)
        .sort(),
    ).toEqual([...CATALOGUE].sort())
  })
  it.each([
    ['RSI', 'rsi'],
    ['RsiIndicator', 'rsi'],
    ['bbands', 'bollingerbands'],
    ['BollingerBandsIndicator', 'bollingerbands'],
    ['sma', 'sma'],
    ['SimpleMovingAverage', 'sma'],
    ['exponentialmovingaverage', 'ema'],
    ['WeightedMovingAverage', 'wma'],
    ['MACDIndicator', 'macd'],
    ['ADXIndicator', 'adx'],
    ['ParabolicSARIndicator', 'parabolicsar'],
    ['ZigZagIndicator', 'zigzag'],
    ['williams_r', 'williamsr'],
    ['DonchianChannels', 'donchianchannels'],
    ['KeltnerChannels', 'keltnerchannels'],
    ['ADLineIndicator', 'adline'],
  ])('%s resolves to %s, case-insensitively', (name, type) => {
    expect(getIndicator(name)?.type).toBe(type)
    expect(getIndicator(name.toUpperCase())?.type).toBe(type)
  })
  it('every definition resolves through its own type and every alias', () => {
    for (const d of listIndicators()) for (const a of [d.type, ...d.aliases]) expect(getIndicator(a)).toBe(d)
  })
  it('unknown types are undefined from getIndicator and a 400 with a hint from requireIndicator', () => {
    expect(getIndicator('rsx')).toBeUndefined()
    expect(() => requireIndicator('rsx')).toThrow(/unknown indicator type 'rsx'; did you mean 'rsi'/)
  })
  it('single-output indicators name their output after the type; multi-output declare ≥ 2', () => {
    for (const d of listIndicators()) {
      const params = resolveIndicatorParams(d.type, {}).params
      const outs = d.outputs(params)
      if (d.multiOutput) expect(outs.length, d.type).toBeGreaterThan(1)
      else expect(outs, d.type).toEqual([d.type])
    }
  })
})

describe('resolveIndicatorParams (docs/domain.md#indicator-entries, with the silent-drop quirk fixed)', () => {
  it('applies defaults from docs/domain.md#indicator-catalogue', () => {
    expect(resolveIndicatorParams('macd', {}).params).toEqual({ fast_period: 12, slow_period: 26, signal_period: 9, source: 'close' })
    expect(resolveIndicatorParams('bbands', {}).params).toEqual({ period: 20, multiplier: 2, source: 'close' })
    expect(resolveIndicatorParams('ema', {}).params).toEqual({ period: 20, source: 'close', adjust: true })
  })
  it('warns about unknown params with a suggestion, and the default applies', () => {
    const r = resolveIndicatorParams('macd', { fast_periods: 5, slow_len: 30, signal_period: 9 })
    expect(r.errors).toEqual([])
    expect(r.params).toMatchObject({ fast_period: 12, slow_period: 26 })
    expect(r.warnings.map((w) => w.param)).toEqual(['fast_periods', 'slow_len'])
    expect(r.warnings[0].message).toMatch(/unknown param 'fast_periods' for macd; did you mean 'fast_period'\?/)
    expect(r.warnings[0].message).toMatch(/accepted: fast_period \(or fast\), slow_period \(or slow\)/)
    expect(r.warnings[1].message).toMatch(/did you mean 'slow'/)
  })
  it("applies MACD's fast/slow/signal as fast_period/slow_period/signal_period (the shipped v3 spelling)", () => {
    const bars = randomBars(120, 3)
    const r = resolveIndicatorParams('macd', { fast: 5, slow: 30, signal: 4 })
    expect(r.warnings).toEqual([])
    expect(r.errors).toEqual([])
    expect(r.params).toEqual({ fast_period: 5, slow_period: 30, signal_period: 4, source: 'close' })
    const viaAlias = computeIndicator('macd', { fast: 5, slow: 30, signal: 4 }, bars)
    const canonical = computeIndicator('macd', { fast_period: 5, slow_period: 30, signal_period: 4 }, bars)
    expect(Array.from(viaAlias.line)).toEqual(Array.from(canonical.line))
    expect(Array.from(viaAlias.line)).not.toEqual(Array.from(computeIndicator('macd', {}, bars).line))
  })
  it('refuses a param given under two names, and checks an alias like its param', () => {
    expect(resolveIndicatorParams('macd', { fast: 5, fast_period: 5 }).errors.map((e) => e.message)).toEqual([
      "macd: 'fast' and 'fast_period' are the same param (fast_period); give it once",
    ])
    expect(resolveIndicatorParams('macd', { slow: 0 }).errors).toEqual([
      { param: 'slow', message: 'macd.slow: must be in [1..200] (got 0)' },
    ])
  })
  it('warns about a source on an indicator that takes none (ADX)', () => {
    const r = resolveIndicatorParams('adx', { period: 14, source: 'close' })
    expect(r.warnings).toHaveLength(1)
    expect(r.warnings[0].message).toMatch(/unknown param 'source' for adx/)
  })
  it('ignores the strategy entry keys type and data_source', () => {
    expect(resolveIndicatorParams('rsi', { type: 'rsi', period: 14, data_source: 'spy' }).warnings).toEqual([])
  })
  it('is strict: ints must be integers, numbers in range, booleans real booleans', () => {
    const errs = (type: string, p: Record<string, unknown>) => resolveIndicatorParams(type, p).errors.map((e) => e.message)
    expect(errs('rsi', { period: 14.5 })[0]).toMatch(/rsi.period: must be an integer/)
    expect(errs('rsi', { period: '14' })[0]).toMatch(/must be an integer/)
    expect(errs('rsi', { period: 1 })[0]).toMatch(/must be in \[2..100\]/)
    expect(errs('rsi', { period: 101 })[0]).toMatch(/must be in \[2..100\]/)
    expect(errs('bbands', { multiplier: 0 })[0]).toMatch(/must be in \(0..10\]/)
    expect(errs('bbands', { multiplier: 2 })).toEqual([])
    expect(errs('ema', { adjust: 'yes' })[0]).toMatch(/must be true or false/)
    expect(errs('distancefromma', { ma_type: 'HMA' })[0]).toMatch(/must be one of SMA, EMA/)
    expect(errs('sma', { source: 'vwap' })[0]).toMatch(/must be one of open, high, low, close/)
    expect(errs('vwap', { period: 0 })).toEqual([])
    expect(errs('zigzag', { threshold: 0 })[0]).toMatch(/must be in \(0..1\]/)
  })
  it('normalises enum and source spelling', () => {
    expect(resolveIndicatorParams('distancefromma', { ma_type: 'ema', source: 'HIGH' }).params).toMatchObject({
      ma_type: 'EMA',
      source: 'high',
    })
  })
  it('rejects params that are not a mapping', () => {
    expect(resolveIndicatorParams('rsi', [14] as unknown as Record<string, unknown>).errors[0].message).toMatch(/params must be a mapping/)
    expect(resolveIndicatorParams('rsi', null).errors).toEqual([])
  })
  it('reports an unknown type as an error instead of throwing', () => {
    expect(resolveIndicatorParams('nope', {}).errors[0].message).toMatch(/unknown indicator type 'nope'/)
  })
  it('accepts the indicator blocks of the shipped reference strategies', () => {
    // From examples/strategies/*.yaml: both MACD spellings (docs/decisions.md#indicators) apply, without a warning.
    const blocks: Array<[string, Record<string, unknown>]> = [
      ['rsi', { period: 14, source: 'close' }],
      ['adx', { period: 14 }],
      ['roc', { period: 10 }],
      ['macd', { fast_period: 12, slow_period: 26, signal_period: 9 }],
      ['macd', { fast: 12, slow: 26, signal: 9 }],
    ]
    for (const [type, p] of blocks) {
      const r = resolveIndicatorParams(type, p)
      expect(r.errors).toEqual([])
      expect(r.warnings).toEqual([])
    }
  })
})

describe('computeIndicator', () => {
  const bars = randomBars(120, 3)
  it('returns exactly the declared outputs, each as long as the series, for every type', () => {
    for (const d of listIndicators()) {
      const out = computeIndicator(d.type, {}, bars)
      expect(Object.keys(out).sort(), d.type).toEqual(d.outputs(resolveIndicatorParams(d.type, {}).params).sort())
      for (const a of Object.values(out)) expect(a.length).toBe(bars.length)
    }
  })
  it('adds line_sma_N to adline only when smoothing is on', () => {
    expect(Object.keys(computeIndicator('adline', { use_sma_smoothing: true, smoothing_period: 30 }, bars))).toContain('line_sma_30')
    expect(Object.keys(computeIndicator('adline', {}, bars))).not.toContain('line_sma_21')
  })
  it('throws 400 on invalid params and 422 below minBars, with actionable messages', () => {
    expect(() => computeIndicator('rsi', { period: 0 }, bars)).toThrow(
      expect.objectContaining({ statusCode: 400, code: 'INDICATOR_PARAMS_INVALID' }),
    )
    expect(() => computeIndicator('adx', { period: 14 }, randomBars(28))).toThrow(
      expect.objectContaining({ statusCode: 422, code: 'INDICATOR_INSUFFICIENT_DATA' }),
    )
    expect(() => computeIndicator('adx', { period: 14 }, randomBars(28))).toThrow(/adx needs at least 29 bars, got 28/)
    expect(() => computeIndicator('macd', {}, randomBars(34))).toThrow(/needs at least 35 bars/)
  })
  it('passes param warnings to onWarning', () => {
    const seen: string[] = []
    computeIndicator('macd', { fastest: 5 }, bars, { onWarning: (m) => seen.push(m) })
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatch(/fast_period/)
  })
  it('derives hl2 / hlc3 / ohlc4 sources', () => {
    const b = barsFrom({ close: [4, 8], open: [2, 6], high: [6, 10], low: [0, 2] })
    expect(Array.from(computeIndicator('momentum', { period: 1, source: 'hl2' }, b).momentum)[1]).toBe(3)
    expect(Array.from(computeIndicator('momentum', { period: 1, source: 'hlc3' }, b).momentum)[1]).toBeCloseTo(10 / 3, 12)
    expect(Array.from(computeIndicator('momentum', { period: 1, source: 'ohlc4' }, b).momentum)[1]).toBe(3.5)
  })
})

describe('decisions on KTRDR quirks', () => {
  it('MFI rejects negative (forex −1 sentinel) volume with a 422 that says what to do', () => {
    const b = randomBars(40)
    b.volume.fill(-1)
    expect(() => computeIndicator('mfi', {}, b)).toThrow(
      expect.objectContaining({ statusCode: 422, code: 'INDICATOR_INVALID_DATA', retryable: false }),
    )
    expect(() => computeIndicator('mfi', {}, b)).toThrow(/negative volume.*forex/)
  })
  it('EMA has no test-data bias hack: the 100,…,140 series gives the plain ewm', () => {
    const b = barsFrom({ close: [100, 110, 120, 130, 140] })
    const e = computeIndicator('ema', { period: 3, adjust: false }, b).ema
    expect(Array.from(e)).toEqual([100, 105, 112.5, 121.25, 130.625])
  })
  it('stochastic / williamsr keep NaN warm-up (KTRDR filled it with 50 / −50); a flat range still reads 50 / −50', () => {
    const flat = barsFrom({ close: [5, 5, 5, 5, 5], high: [5, 5, 5, 5, 5], low: [5, 5, 5, 5, 5] })
    const k = computeIndicator('stochastic', { k_period: 3, smooth_k: 1, d_period: 1 }, flat).k
    expect(Number.isNaN(k[1])).toBe(true)
    expect(k[2]).toBe(50)
    const w = computeIndicator('williamsr', { period: 3 }, flat).williamsr
    expect(Number.isNaN(w[1])).toBe(true)
    expect(w[4]).toBe(-50)
  })
})
