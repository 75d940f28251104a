// Test fixtures: a temp storage with random-walk bars and an untrained (seeded) model saved the
// way train saves one, so the backtest function runs its whole path without a training run.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createTempStorage as createTempKtrdrStorage } from '../../../runtime/function/index.ts'
import type { KtrdrStorage } from '../../../storage/index.ts'
import { createSeries, mulberry32 } from '../../../trading/index.ts'
import { saveBars } from '../../../trading/index.ts'
import { buildModel } from '../../../trading/model/index.ts'
import { useTfBackend } from '../../../trading/model/index.ts'
import { saveModelVersion } from '../../../trading/model/index.ts'
import { resolveModelSpec } from '../../../trading/model/index.ts'
import { resolveStrategy } from '../../../trading/index.ts'
import { tf } from '../../../trading/model/index.ts'

/**
 * Hand-set weights for a fuzzy-RSI MLP: hidden layers pass the first inputs through, the output
 * is logits = 8 × (oversold, neutral, overbought) ⇒ BUY when oversold, SELL when overbought.
 * An untrained net would print the same class everywhere and never trade.
 */
function plantRsiRule(model: tf.LayersModel) {
  const dense = model.layers.filter((l) => l.getWeights().length === 2)
  dense.forEach((layer, li) => {
    const [k, b] = layer.getWeights()
    const [inputs, units] = k.shape as [number, number]
    const kernel = new Float32Array(inputs * units)
    const last = li === dense.length - 1
    for (let i = 0; i < Math.min(inputs, units, 6); i++) kernel[i * units + i] = last ? 8 : 1
    layer.setWeights([tf.tensor2d(kernel, [inputs, units]), tf.zeros(b.shape)])
  })
}

/** Copies of the reference strategies kept in the repository (a clean clone has no shared/ folder). */
export const REFERENCE_STRATEGIES = join(import.meta.dirname, '../../../examples/strategies')

export const createTempStorage = () => createTempKtrdrStorage('ktrdr-backtest-')

/** Hourly random walk (seeded mulberry32); realistic OHLC ordering. */
export async function writeBars(
  storage: KtrdrStorage,
  symbol: string,
  timeframe: string,
  n: number,
  seed = 1,
  startMs = Date.UTC(2024, 0, 1),
  stepMs = 3_600_000,
) {
  const s = createSeries(symbol, timeframe, n)
  const rnd = mulberry32(seed)
  let p = 1.1
  for (let i = 0; i < n; i++) {
    s.time[i] = startMs + i * stepMs
    const o = p
    const c = Math.max(0.01, o * (1 + (rnd() - 0.5) * 0.01))
    s.open[i] = o
    s.close[i] = c
    s.high[i] = Math.max(o, c) * (1 + rnd() * 0.002)
    s.low[i] = Math.min(o, c) * (1 - rnd() * 0.002)
    s.volume[i] = 1000 + Math.floor(rnd() * 1000)
    p = c
  }
  await saveBars(storage.data, s, { meta: { synthetic: true, generator: 'test-random-walk', seed } })
  return s
}

/**
 * Saves a seeded, untrained model for a strategy YAML, as train would: under `opts.name` (the file
 * name of a strategy read from the mount), else under the YAML's name (inline YAML).
 */
export async function writeModel(
  storage: KtrdrStorage,
  yaml: string,
  opts: {
    seed?: number
    normalization?: unknown
    planted?: boolean
    inSample?: Record<string, { start: string; end: string }>
    /** The symbols it was "trained" on (default EURUSD). */
    symbols?: string[]
    name?: string
  } = {},
) {
  await useTfBackend()
  const strategy = resolveStrategy(yaml, opts.name === undefined ? {} : { name: opts.name })
  const regression = strategy.decisions.output_format === 'regression'
  const spec = resolveModelSpec(strategy.model as never, {
    inputSize: strategy.resolved_features.length,
    outputSize: regression ? 1 : 3,
    outputKind: regression ? 'regression' : 'classification',
    seed: opts.seed ?? 7,
  })
  const model = buildModel(spec)
  if (opts.planted && spec.type === 'mlp') plantRsiRule(model)
  const tf = strategy.training_data.base_timeframe
  const saved = await saveModelVersion(storage, {
    strategyName: strategy.name,
    timeframe: tf,
    model,
    metrics: {},
    metadata: {
      format: 'ktrdr-tfjs-1',
      strategy_name: strategy.name,
      strategy_version: strategy.version,
      created_at: new Date().toISOString(),
      model_type: spec.type,
      sequence_length: spec.type === 'mlp' ? null : spec.sequenceLength,
      output_type: regression ? 'regression' : 'classification',
      spec,
      resolved_features: strategy.resolved_features,
      normalization_params: opts.normalization ?? {},
      strategy_yaml: yaml,
      decisions: strategy.decisions as unknown as Record<string, unknown>,
      labels: {},
      training: {},
      training_symbols: opts.symbols ?? ['EURUSD'],
      training_timeframes: strategy.training_data.timeframes,
      base_timeframe: tf,
      data: {
        start_date: null,
        end_date: null,
        sha256: 'test',
        synthetic: true,
        samples: { train: 0, validation: 0, test: 0 },
        ...(opts.inSample ? { in_sample: opts.inSample } : {}),
      },
      seed: opts.seed ?? 7,
      backend: 'test',
      package_versions: {},
    },
  })
  return { ...saved, strategy, model, spec }
}

export async function referenceYaml(name: string): Promise<string> {
  return readFile(join(REFERENCE_STRATEGIES, name), 'utf8')
}
