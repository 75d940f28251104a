import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { formatStrategyIssue, resolveStrategy, STRATEGY_LIMITS, validateStrategy } from './_exports.ts'

// Copies of the reference strategies (/work/shared/reference/strategies), so a clean clone tests them.
const REF = join(import.meta.dirname, '../../examples/strategies')
const refDir = REF

function base(): Record<string, any> {
  return {
    name: 'test_strategy',
    training_data: { symbols: { mode: 'single', symbol: 'EURUSD' }, timeframes: { mode: 'single', timeframe: '1h' } },
    indicators: { rsi_14: { type: 'rsi', period: 14 }, macd_12_26_9: { type: 'macd', fast_period: 12, slow_period: 26, signal_period: 9 } },
    fuzzy_sets: {
      rsi_zone: { indicator: 'rsi_14', low: [0, 20, 40], high: { type: 'triangular', parameters: [60, 80, 100] } },
      macd_dir: { indicator: 'macd_12_26_9.line', down: { type: 'gaussian', parameters: [-0.001, 0.001] } },
    },
    nn_inputs: [
      { fuzzy_set: 'rsi_zone', timeframes: 'all' },
      { fuzzy_set: 'macd_dir', timeframes: 'all' },
    ],
    model: { type: 'mlp', architecture: { hidden_layers: [16] } },
    decisions: { output_format: 'classification' },
    training: { labels: { source: 'zigzag' } },
  }
}

function errorsOf(mutate: (s: Record<string, any>) => void) {
  const s = base()
  mutate(s)
  return validateStrategy(stringify(s)).errors
}

describe('reference strategies', () => {
  for (const file of readdirSync(refDir).filter((f) => f.endsWith('.yaml'))) {
    it(`${file} validates without a warning`, () => {
      const r = validateStrategy(readFileSync(join(refDir, file), 'utf8'), { file })
      expect(r.errors.map(formatStrategyIssue)).toEqual([])
      expect(r.warnings.map(formatStrategyIssue)).toEqual([])
      expect(r.valid).toBe(true)
      expect(r.resolved_features.length).toBeGreaterThan(0)
    })
  }

  it('docs/domain.md#example-strategies v3_multi_indicator resolves the 6 features in order', () => {
    const s = resolveStrategy(readFileSync(join(REF, 'v3_multi_indicator.yaml'), 'utf8'))
    expect(s.resolved_features).toEqual([
      '1h_rsi_14_oversold',
      '1h_rsi_14_neutral',
      '1h_rsi_14_overbought',
      '1h_adx_trend_weak',
      '1h_adx_trend_moderate',
      '1h_adx_trend_strong',
    ])
    expect(s.training.labels).toEqual({ source: 'zigzag', zigzag_threshold: 0.025, label_lookahead: 20 })
    expect(s.decisions.confidence_threshold).toBe(0.6)
    expect(s.fuzzy_sets.adx_trend).toMatchObject({ indicator: 'adx_14', output: 'adx' })
  })

  it('docs/domain.md#example-strategies squad_cycle1_control resolves the 32 features in order, base timeframe first', () => {
    const s = resolveStrategy(readFileSync(join(REF, 'squad_cycle1_control.yaml'), 'utf8'))
    expect(s.resolved_features).toEqual([
      '5m_rsi_momentum_low',
      '5m_rsi_momentum_neutral',
      '5m_rsi_momentum_high',
      '1h_rsi_momentum_low',
      '1h_rsi_momentum_neutral',
      '1h_rsi_momentum_high',
      '5m_rsi_14_raw',
      '1h_rsi_14_raw',
      '5m_adx_trend_weak',
      '5m_adx_trend_moderate',
      '5m_adx_trend_strong',
      '1h_adx_trend_weak',
      '1h_adx_trend_moderate',
      '1h_adx_trend_strong',
      '5m_adx_14.adx_raw',
      '1h_adx_14.adx_raw',
      '5m_macd_direction_bearish',
      '5m_macd_direction_neutral',
      '5m_macd_direction_bullish',
      '1h_macd_direction_bearish',
      '1h_macd_direction_neutral',
      '1h_macd_direction_bullish',
      '5m_macd_12_26_9.line_raw',
      '1h_macd_12_26_9.line_raw',
      '5m_roc_momentum_falling',
      '5m_roc_momentum_flat',
      '5m_roc_momentum_rising',
      '1h_roc_momentum_falling',
      '1h_roc_momentum_flat',
      '1h_roc_momentum_rising',
      '5m_roc_10_raw',
      '1h_roc_10_raw',
    ])
    expect(s.training_data.timeframes).toEqual(['1h', '5m'])
    expect(s.training_data.base_timeframe).toBe('1h')
    expect(s.model).toEqual({ type: 'lstm', architecture: { sequence_length: 20, hidden_size: 64, num_layers: 2, dropout: 0.3 } })
    expect(s.training.lr_scheduler).toMatchObject({ type: 'reduce_on_plateau', factor: 0.5, patience: 5 })
    expect(s.training.early_stopping).toMatchObject({ patience: 20, min_delta: 0.001 })
    expect(s.training.gradient_clip).toBe(1)
    expect(s.training.loss).toBe('focal')
    expect(s.features.filter((f) => f.kind === 'raw').map((f) => f.normalization)).toEqual([
      'minmax',
      'minmax',
      'minmax',
      'minmax',
      'zscore',
      'zscore',
      'zscore',
      'zscore',
    ])
  })

  it('regression example applies the cost model and its MACD fast/slow/signal', () => {
    const r = validateStrategy(readFileSync(join(REF, 'regression_example_v3.yaml'), 'utf8'))
    expect(r.strategy!.decisions).toMatchObject({
      output_format: 'regression',
      cost_model: { round_trip_cost: 0.003, min_edge_multiplier: 1.5 },
    })
    expect(r.strategy!.training).toMatchObject({ loss: 'huber', huber_delta: 0.01, labels: { source: 'forward_return', horizon: 20 } })
    expect(r.strategy!.indicators.macd_12_26_9.params).toEqual({ fast_period: 12, slow_period: 26, signal_period: 9, source: 'close' })
    expect(r.warnings).toEqual([])
  })

  it('v3_multi_indicator trains with its model.training and notes the legacy keys that have no effect', () => {
    const r = validateStrategy(readFileSync(join(REF, 'v3_multi_indicator.yaml'), 'utf8'))
    expect(r.strategy!.training).toMatchObject({
      epochs: 100,
      batch_size: 32,
      learning_rate: 0.001,
      optimizer: 'adam',
      early_stopping: { enabled: true, patience: 15, min_delta: 0.001, monitor: 'val_loss' },
      sources: {
        epochs: 'model.training',
        learning_rate: 'model.training',
        batch_size: 'model.training',
        optimizer: 'model.training',
        early_stopping: 'model.training',
        weight_decay: 'default',
        gradient_clip: 'default',
        lr_scheduler: 'default',
      },
    })
    expect(r.warnings).toEqual([])
    expect(r.notes.map((n) => n.path)).toEqual(['model.features', 'training.labels.label_lookahead'])
    expect(r.notes[0]).toMatchObject({ line: expect.any(Number), message: expect.stringMatching(/no effect in v3, as in KTRDR/) })
  })
})

describe('defaults', () => {
  it('applies the documented defaults', () => {
    const s = resolveStrategy(stringify(base()))
    expect(s.version).toBe('3.0')
    expect(s.decisions).toEqual({
      output_format: 'classification',
      confidence_threshold: 0.5,
      position_awareness: true,
      allow_short_from_flat: false,
      filters: { min_signal_separation: 4, volume_filter: false },
      cost_model: { round_trip_cost: 0.003, min_edge_multiplier: 1.5 },
      num_classes: 3,
    })
    expect(s.training).toMatchObject({
      epochs: 100,
      learning_rate: 0.001,
      batch_size: 32,
      loss: 'cross_entropy',
      data_split: { train: 0.7, validation: 0.15, test: 0.15 },
      labels: { source: 'zigzag', zigzag_threshold: 0.02 },
    })
    expect(s.model).toEqual({ type: 'mlp', architecture: { hidden_layers: [16], dropout: 0.2, activation: 'relu' } })
    expect(s.training_data.history_required).toBe(200)
    expect(s.fuzzy_sets.rsi_zone.memberships[0]).toEqual({ name: 'low', type: 'triangular', parameters: [0, 20, 40] })
  })
})

describe('validation errors (docs/domain.md#strategy-validation)', () => {
  const cases: Array<[string, (s: Record<string, any>) => void, string, RegExp]> = [
    [
      'v1/v2 list indicators',
      (s) => {
        s.indicators = [{ name: 'rsi' }]
      },
      'indicators',
      /migrate/,
    ],
    [
      'missing nn_inputs',
      (s) => {
        delete s.nn_inputs
      },
      'nn_inputs',
      /migrate/,
    ],
    [
      'bad indicator id',
      (s) => {
        s.indicators['1rsi'] = { type: 'rsi' }
      },
      'indicators.1rsi',
      /must match/,
    ],
    [
      'reserved indicator id',
      (s) => {
        s.indicators.Close = { type: 'sma' }
      },
      'indicators.Close',
      /reserved/,
    ],
    [
      'unknown indicator type',
      (s) => {
        s.indicators.rsi_14.type = 'nope'
      },
      'indicators.rsi_14.type',
      /unknown indicator type/,
    ],
    [
      'param out of range',
      (s) => {
        s.indicators.rsi_14.period = 1
      },
      'indicators.rsi_14.period',
      /rsi.period/,
    ],
    [
      'fuzzy set → unknown indicator',
      (s) => {
        s.fuzzy_sets.rsi_zone.indicator = 'rsi_99'
      },
      'fuzzy_sets.rsi_zone.indicator',
      /unknown indicator "rsi_99"/,
    ],
    [
      'bad dot output',
      (s) => {
        s.fuzzy_sets.macd_dir.indicator = 'macd_12_26_9.nope'
      },
      'fuzzy_sets.macd_dir.indicator',
      /"nope" is not an output of macd_12_26_9 .*line, signal, histogram/,
    ],
    [
      'dot on single-output',
      (s) => {
        s.fuzzy_sets.rsi_zone.indicator = 'rsi_14.rsi'
      },
      'fuzzy_sets.rsi_zone.indicator',
      /single output/,
    ],
    [
      'zero memberships',
      (s) => {
        s.fuzzy_sets.rsi_zone = { indicator: 'rsi_14' }
      },
      'fuzzy_sets.rsi_zone',
      /no memberships/,
    ],
    [
      '4-element shorthand',
      (s) => {
        s.fuzzy_sets.rsi_zone.low = [0, 10, 20, 30]
      },
      'fuzzy_sets.rsi_zone.low',
      /always means triangular.*trapezoidal/,
    ],
    [
      'triangular order',
      (s) => {
        s.fuzzy_sets.rsi_zone.low = [40, 20, 0]
      },
      'fuzzy_sets.rsi_zone.low',
      /a ≤ b ≤ c/,
    ],
    [
      'trapezoidal count',
      (s) => {
        s.fuzzy_sets.rsi_zone.low = { type: 'trapezoidal', parameters: [0, 1, 2] }
      },
      'fuzzy_sets.rsi_zone.low.parameters',
      /needs 4 parameters/,
    ],
    [
      'trapezoidal order',
      (s) => {
        s.fuzzy_sets.rsi_zone.low = { type: 'trapezoidal', parameters: [0, 3, 2, 4] }
      },
      'fuzzy_sets.rsi_zone.low.parameters',
      /a ≤ b ≤ c ≤ d/,
    ],
    [
      'gaussian sigma',
      (s) => {
        s.fuzzy_sets.macd_dir.down = { type: 'gaussian', parameters: [0, 0] }
      },
      'fuzzy_sets.macd_dir.down.parameters',
      /sigma must be > 0/,
    ],
    [
      'unknown membership type',
      (s) => {
        s.fuzzy_sets.macd_dir.down = { type: 'bell', parameters: [0, 1] }
      },
      'fuzzy_sets.macd_dir.down.type',
      /membership type/,
    ],
    [
      'nn_input → unknown fuzzy set',
      (s) => {
        s.nn_inputs[0].fuzzy_set = 'nope'
      },
      'nn_inputs[0].fuzzy_set',
      /unknown fuzzy set "nope"/,
    ],
    [
      'nn_input → unknown raw indicator',
      (s) => {
        s.nn_inputs.push({ raw_indicator: 'atr_14' })
      },
      'nn_inputs[2].raw_indicator',
      /unknown indicator "atr_14"/,
    ],
    [
      'nn_input with both kinds',
      (s) => {
        s.nn_inputs[0].raw_indicator = 'rsi_14'
      },
      'nn_inputs[0]',
      /exactly one of fuzzy_set or raw_indicator/,
    ],
    [
      'nn_input timeframe not in training_data',
      (s) => {
        s.nn_inputs[0].timeframes = ['4h']
      },
      'nn_inputs[0].timeframes[0]',
      /not in training_data.timeframes/,
    ],
    [
      'normalization on a fuzzy input',
      (s) => {
        s.nn_inputs[0].normalization = 'zscore'
      },
      'nn_inputs[0].normalization',
      /only allowed with raw_indicator/,
    ],
    [
      'bad normalization',
      (s) => {
        s.nn_inputs.push({ raw_indicator: 'rsi_14', normalization: 'robust' })
      },
      'nn_inputs[2].normalization',
      /minmax, zscore, none/,
    ],
    [
      'duplicate feature',
      (s) => {
        s.nn_inputs.push({ fuzzy_set: 'rsi_zone' })
      },
      'nn_inputs[2]',
      /duplicate feature "1h_rsi_zone_low"/,
    ],
    [
      'duplicate timeframes',
      (s) => {
        s.training_data.timeframes = { mode: 'multi_timeframe', list: ['1h', '1h'], base_timeframe: '1h' }
      },
      'training_data.timeframes.list[1]',
      /duplicate timeframe/,
    ],
    [
      'base timeframe not listed',
      (s) => {
        s.training_data.timeframes = { mode: 'multi_timeframe', list: ['5m', '1h'], base_timeframe: '4h' }
      },
      'training_data.timeframes.base_timeframe',
      /not in the timeframe list/,
    ],
    [
      'multi timeframe needs two',
      (s) => {
        s.training_data.timeframes = { mode: 'multi_timeframe', list: ['1h'] }
      },
      'training_data.timeframes.list',
      /at least 2/,
    ],
    [
      'unsupported timeframe',
      (s) => {
        s.training_data.timeframes.timeframe = '2h'
      },
      'training_data.timeframes.timeframe',
      /1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w/,
    ],
    [
      'data_source unresolved',
      (s) => {
        s.indicators.rsi_14.data_source = 'GBPUSD'
      },
      'indicators.rsi_14.data_source',
      /does not match a context_data source id/,
    ],
    [
      'output_format',
      (s) => {
        s.decisions.output_format = 'ranking'
      },
      'decisions.output_format',
      /classification, regression/,
    ],
    [
      'regression needs cost model',
      (s) => {
        s.decisions = { output_format: 'regression' }
        s.training.labels = { source: 'forward_return' }
      },
      'decisions.cost_model',
      /regression needs cost_model/,
    ],
    [
      'regression cost model positive',
      (s) => {
        s.decisions = { output_format: 'regression', cost_model: { round_trip_cost: 0, min_edge_multiplier: 1 } }
        s.training.labels = { source: 'forward_return' }
      },
      'decisions.cost_model.round_trip_cost',
      /> 0/,
    ],
    [
      'regression horizon',
      (s) => {
        s.decisions = { output_format: 'regression', cost_model: { round_trip_cost: 0.001, min_edge_multiplier: 1 } }
        s.training.labels = { source: 'forward_return', horizon: 2.5 }
      },
      'training.labels.horizon',
      /integer/,
    ],
    [
      'regression loss',
      (s) => {
        s.decisions = { output_format: 'regression', cost_model: { round_trip_cost: 0.001, min_edge_multiplier: 1 } }
        s.training.labels = { source: 'forward_return' }
        s.training.loss = 'focal'
      },
      'training.loss',
      /huber, mse/,
    ],
    [
      'mlp without hidden_layers',
      (s) => {
        s.model.architecture = {}
      },
      'model.architecture.hidden_layers',
      /list of layer widths/,
    ],
    [
      'lstm without sequence_length',
      (s) => {
        s.model = { type: 'lstm', architecture: {} }
      },
      'model.architecture.sequence_length',
      /required/,
    ],
    [
      'lstm with hidden_layers',
      (s) => {
        s.model = { type: 'lstm', architecture: { sequence_length: 10, hidden_layers: [8] } }
      },
      'model.architecture.hidden_layers',
      /does not take hidden_layers/,
    ],
    [
      'data split sum',
      (s) => {
        s.training.data_split = { train: 0.8, validation: 0.15, test: 0.15 }
      },
      'training.data_split',
      /must be 1/,
    ],
    [
      'regime labels unsupported',
      (s) => {
        s.training.labels = { source: 'regime' }
      },
      'training.labels.source',
      /not supported/,
    ],
    [
      'missing name',
      (s) => {
        delete s.name
      },
      'name',
      /required/,
    ],
  ]
  for (const [title, mutate, path, message] of cases) {
    it(title, () => {
      const errors = errorsOf(mutate)
      const hit = errors.find((e) => e.path === path)
      expect(hit, `errors were: ${JSON.stringify(errors)}`).toBeDefined()
      expect(hit!.message).toMatch(message)
    })
  }

  it('names the file and line of the offending key', () => {
    const text = readFileSync(join(REF, 'v3_multi_indicator.yaml'), 'utf8').replace('parameters: [20, 35, 50]', 'parameters: [50, 35, 20]')
    const line = text.split('\n').findIndex((l) => l.includes('[50, 35, 20]')) + 1
    const r = validateStrategy(text, { file: 'v3.yaml' })
    expect(r.valid).toBe(false)
    expect(r.errors).toEqual([
      { path: 'fuzzy_sets.adx_trend.moderate.parameters', line, file: 'v3.yaml', message: expect.stringMatching(/a ≤ b ≤ c/) },
    ])
    expect(formatStrategyIssue(r.errors[0])).toMatch(new RegExp(`^v3.yaml:${line}: fuzzy_sets.adx_trend.moderate.parameters: `))
  })

  it('reports YAML syntax errors with a line', () => {
    const r = validateStrategy('name: x\nindicators: {rsi: [1, 2\n', { file: 'broken.yaml' })
    expect(r.valid).toBe(false)
    expect(r.errors[0].message).toMatch(/YAML syntax/)
    expect(r.errors[0].line).toBeGreaterThan(0)
  })

  it('refuses nesting past the limit before parsing, in every style', () => {
    const deep = (n: number): Record<string, string> => ({
      flow: `name: x\nindicators: ${'['.repeat(n)}${']'.repeat(n)}\n`,
      map: `name: x\nindicators: ${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`,
      compact: `name: x\nnn_inputs:\n  ${'- '.repeat(n)}1\n`,
      // Indentation costs n²/2 bytes: the byte cap stops it first past about 700 levels.
      ...(n < 700 ? { block: Array.from({ length: n }, (_, i) => `${' '.repeat(i)}a:\n`).join('') } : {}),
    })
    // 6,001 levels of `[` aborted the whole process inside the parser (a fatal V8 OOM, not an exception).
    for (const n of [STRATEGY_LIMITS.maxNesting + 1, 2000, 6001, 100_000]) {
      for (const [style, text] of Object.entries(deep(n))) {
        if (text.length > STRATEGY_LIMITS.maxBytes) continue
        const r = validateStrategy(text)
        expect(
          r.errors.map((e) => e.message),
          `${style} × ${n}`,
        ).toEqual([expect.stringContaining(`nests more than ${STRATEGY_LIMITS.maxNesting} levels`)])
      }
    }
    for (const file of readdirSync(REF)) expect(validateStrategy(readFileSync(join(REF, file), 'utf8')).errors).toEqual([])
  })

  it('refuses collection and alias keys before converting them (their cost doubles per level)', () => {
    for (const text of [`${'{'.repeat(20)}${'}'.repeat(20)}: 1`, `${'['.repeat(20)}${']'.repeat(20)}: 1`, 'a: &k [1]\n*k : 2\n']) {
      const r = validateStrategy(text)
      expect(r.errors.map((e) => e.message)).toEqual([
        expect.stringMatching(/mapping key is (a mapping|a list|an alias): keys must be plain names/),
      ])
    }
    // 30 levels ran for seconds and then threw "Invalid string length" out of validateStrategy.
    const t0 = performance.now()
    expect(validateStrategy(`${'{'.repeat(30)}${'}'.repeat(30)}: 1`).valid).toBe(false)
    expect(performance.now() - t0).toBeLessThan(1000)
  })

  it('throws STRATEGY_INVALID (422, not retryable) from resolveStrategy', () => {
    expect(() => resolveStrategy('name: x\nnn_inputs: []\nindicators: {}\n')).toThrow(
      expect.objectContaining({ statusCode: 422, code: 'STRATEGY_INVALID', retryable: false }),
    )
  })
})

describe('warnings and quirk decisions', () => {
  it('warns about unused indicators, fuzzy sets and context data', () => {
    const s = base()
    s.indicators.atr_14 = { type: 'atr', period: 14 }
    s.fuzzy_sets.spare = { indicator: 'rsi_14', mid: [40, 50, 60] }
    s.context_data = [{ provider: 'ib', symbol: 'GBPUSD' }]
    const r = validateStrategy(stringify(s))
    expect(r.valid).toBe(true)
    expect(r.warnings.map((w) => w.path).sort()).toEqual(['context_data[0]', 'fuzzy_sets.spare', 'indicators.atr_14'])
  })

  it('accepts triangle/trapezoid aliases and implements sigmoid', () => {
    const s = base()
    s.fuzzy_sets.rsi_zone = {
      indicator: 'rsi_14',
      a: { type: 'triangle', parameters: [0, 1, 2] },
      b: { type: 'trapezoid', parameters: [0, 1, 2, 3] },
      c: { type: 'sigmoid', parameters: [50, 0.2] },
    }
    const r = resolveStrategy(stringify(s))
    expect(r.fuzzy_sets.rsi_zone.memberships.map((m) => m.type)).toEqual(['triangular', 'trapezoidal', 'sigmoid'])
  })

  it('bare multi-output ids mean the primary output; raw refs keep the dot in the name', () => {
    const s = base()
    s.fuzzy_sets.macd_dir.indicator = 'macd_12_26_9'
    s.nn_inputs.push({ raw_indicator: 'macd_12_26_9.signal', normalization: 'zscore' })
    const r = resolveStrategy(stringify(s))
    expect(r.fuzzy_sets.macd_dir.output).toBe('line')
    expect(r.resolved_features.at(-1)).toBe('1h_macd_12_26_9.signal_raw')
  })

  it('resolves data_source against context_data source ids (docs/domain.md#context-data)', () => {
    const s = base()
    s.context_data = [
      { provider: 'ib', symbol: 'GBPUSD', timeframe: '1h' },
      { provider: 'fred', series: ['DGS10', 'DGS2'] },
    ]
    s.indicators.gbp_rsi = { type: 'rsi', period: 14, data_source: 'GBPUSD' }
    s.indicators.spread_sma = { type: 'sma', period: 5, data_source: 'yield_spread_DGS10_DGS2' }
    s.nn_inputs.push({ raw_indicator: 'gbp_rsi' }, { raw_indicator: 'spread_sma' })
    const r = validateStrategy(stringify(s))
    expect(r.errors).toEqual([])
    expect(r.strategy!.context_data.map((c) => c.source_ids)).toEqual([['GBPUSD'], ['fred_DGS10', 'fred_DGS2', 'yield_spread_DGS10_DGS2']])
    expect(r.strategy!.indicators.gbp_rsi.data_source).toBe('GBPUSD')
    expect(r.warnings).toEqual([])
  })

  it("applies MACD's fast/slow/signal spelling", () => {
    const s = base()
    s.indicators.macd_12_26_9 = { type: 'macd', fast: 5, slow: 35, signal: 4 }
    const r = validateStrategy(stringify(s))
    expect(r.warnings).toEqual([])
    expect(r.strategy!.indicators.macd_12_26_9.params).toMatchObject({ fast_period: 5, slow_period: 35, signal_period: 4 })
  })

  it('model.training fills what the training section leaves unset, key by key, and says where each came from', () => {
    const s = base()
    s.model.training = { epochs: 3, batch_size: 16, learning_rate: 0.01, early_stopping: { patience: 4 }, lr_scheduler: true }
    s.training.learning_rate = 0.02
    const r = validateStrategy(stringify(s))
    expect(r.strategy!.training).toMatchObject({
      epochs: 3,
      batch_size: 16,
      learning_rate: 0.02,
      early_stopping: { enabled: true, patience: 4 },
      lr_scheduler: { type: 'reduce_on_plateau' },
      sources: { epochs: 'model.training', batch_size: 'model.training', learning_rate: 'training', optimizer: 'default' },
    })
    expect(r.warnings.map((w) => [w.path, w.message])).toEqual([
      ['model.training.learning_rate', 'model.training.learning_rate (0.01) is overridden by training.learning_rate (0.02)'],
    ])
    expect(resolveStrategy(stringify(base())).training.sources.epochs).toBe('default')
    expect(resolveStrategy(stringify(base())).training.epochs).toBe(100)
  })

  it('checks model.training like the training section, naming its path', () => {
    const s = base()
    s.model.training = { epochs: 0, labels: { source: 'zigzag' }, early_stopping: 'soon' }
    const r = validateStrategy(stringify(s))
    expect(r.errors.map((e) => `${e.path}: ${e.message}`).sort()).toEqual([
      'model.training.early_stopping: expected a mapping {patience, min_delta, monitor}, got string "soon"',
      'model.training.epochs: expected an integer ≥ 1, got 0',
    ])
    expect(r.warnings.map((w) => w.path)).toEqual(['model.training.labels'])
  })

  it('accepts an already parsed object', () => {
    expect(validateStrategy(base()).valid).toBe(true)
  })
})
