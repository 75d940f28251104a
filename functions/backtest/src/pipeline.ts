// Features and inference for the engine: everything model- and data-specific happens here,
// once per symbol, before the cheap per-parameter-set engine runs.
import type { FunctionContext } from '../../../runtime/function/index.ts'
import { KtrdrError } from '../../../trading/index.ts'
import {
  buildFeatureMatrix,
  loadStrategyBars,
  lowerBound,
  parseDateInput,
  resolveStrategy,
  timeframeMs,
  type ModelWant,
  type NormalizationParams,
  type OhlcvSeries,
  type ResolvedStrategy,
} from '../../../trading/index.ts'
import { setDropoutStep } from '../../../trading/model/index.ts'
import { useTfBackend } from '../../../trading/model/index.ts'
import { loadModel, type LoadedModel } from '../../../trading/model/index.ts'
import { predictableRows, predictRaw } from '../../../trading/model/index.ts'
import type { DecisionsSection } from './config.ts'
import type { ModelOutputs } from './sweep.ts'

export interface BacktestModel {
  loaded: LoadedModel
  key: string
  strategy: ResolvedStrategy
  strategyName: string
  baseTimeframe: string
  timeframes: string[]
  features: string[]
  sequenceLength: number
  outputType: string
  decisions: DecisionsSection
  normalization: NormalizationParams | undefined
  trainingSymbols: string[]
  /** Per training symbol, the bars training and model selection saw (ms, inclusive); empty when the model records none. */
  inSample: Map<string, { start: number; end: number }>
}

/** The model's in-sample range per symbol: recorded by training, else its whole data range. */
function inSampleRanges(meta: LoadedModel['metadata'], symbols: string[]): Map<string, { start: number; end: number }> {
  const out = new Map<string, { start: number; end: number }>()
  const recorded = meta.data?.in_sample
  if (recorded && Object.keys(recorded).length) {
    for (const [symbol, r] of Object.entries(recorded)) out.set(symbol, { start: Date.parse(r.start), end: Date.parse(r.end) })
    return out
  }
  const start = meta.data?.start_date ? Date.parse(meta.data.start_date) : Number.NaN
  const end = meta.data?.end_date ? Date.parse(meta.data.end_date) : Number.NaN
  if (Number.isFinite(start) && Number.isFinite(end)) for (const symbol of symbols) out.set(symbol, { start, end })
  return out
}

export interface PreparedSymbol {
  bars: OhlcvSeries
  barMs: number
  outputs: ModelOutputs
  synthetic: boolean
  timings: { load_data_s: number; features_s: number; inference_s: number }
}

/** Parses a request date; a date-only end covers its whole day (inclusive end). */
export function parseDate(value: string, field: string, isEnd: boolean): number {
  const ms = parseDateInput(value)
  if (!Number.isFinite(ms))
    throw new KtrdrError({
      code: 'INPUT_INVALID',
      message: `${field} ${JSON.stringify(value)} is not a date: use YYYY-MM-DD or an ISO timestamp`,
    })
  return isEnd && /^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? ms + 86_400_000 - 1 : ms
}

function isNormalizationParams(v: unknown): v is NormalizationParams {
  return typeof v === 'object' && v !== null && typeof (v as NormalizationParams).features === 'object'
}

/**
 * Loads a model version and the strategy it was trained with (from its metadata, not from the
 * strategies store, which may have changed since).
 */
export async function loadBacktestModel(
  ctx: Pick<FunctionContext, 'storage' | 'logger'>,
  modelPath: string,
  want: ModelWant = {},
): Promise<BacktestModel> {
  await useTfBackend()
  let loaded: LoadedModel
  try {
    loaded = await loadModel(ctx.storage, modelPath, { ...want, onWarning: (message) => ctx.logger.warn(message) })
  } catch (cause) {
    if (cause instanceof KtrdrError) throw cause
    throw new KtrdrError({
      code: 'MODEL_NOT_FOUND',
      message: cause instanceof Error ? cause.message : String(cause),
      cause,
    })
  }
  // Inference mode for the seeded dropout layers. Calling into _dropout.ts also keeps its
  // registerClass in Nitro bundles, whose tree-shaking drops side-effect-only imports.
  setDropoutStep(loaded.model, null)
  const meta = loaded.metadata
  const strategy = resolveStrategy(meta.strategy_yaml)
  const features = meta.resolved_features
  if (features.join('\n') !== strategy.resolved_features.join('\n')) {
    throw new KtrdrError({
      code: 'MODEL_FEATURES_MISMATCH',
      message: `Model ${loaded.key} was trained on features [${features.join(', ')}] but its strategy now resolves to [${strategy.resolved_features.join(', ')}]: retrain the model`,
    })
  }
  if (features.length !== loaded.spec.inputSize) {
    throw new KtrdrError({
      code: 'MODEL_FEATURES_MISMATCH',
      message: `Model ${loaded.key} expects ${loaded.spec.inputSize} inputs but lists ${features.length} features: the model files are inconsistent, retrain`,
    })
  }
  const normalization = isNormalizationParams(meta.normalization_params) ? meta.normalization_params : undefined
  if (!normalization && strategy.features.some((f) => f.kind === 'raw' && f.normalization !== 'none')) {
    ctx.logger.warn(`Model ${loaded.key} stores no normalization parameters; raw inputs enter the network unscaled`)
  }
  return {
    loaded,
    key: loaded.key,
    strategy,
    strategyName: meta.strategy_name ?? strategy.name,
    baseTimeframe: meta.base_timeframe ?? strategy.training_data.base_timeframe,
    timeframes: strategy.training_data.timeframes,
    features,
    sequenceLength: loaded.spec.sequenceLength,
    outputType: meta.output_type,
    decisions: (meta.decisions ?? strategy.decisions) as DecisionsSection,
    normalization,
    trainingSymbols: Array.isArray(meta.training_symbols) ? meta.training_symbols : strategy.training_data.symbols,
    inSample: inSampleRanges(meta, Array.isArray(meta.training_symbols) ? meta.training_symbols : strategy.training_data.symbols),
  }
}

/**
 * Bars (every needed timeframe, from the start of the cache up to end_date so long-memory
 * indicators match what training saw, restricted to the timeframes' common coverage as in training), the feature matrix with the model's normalisation,
 * and one large-batch inference over the rows the window can use.
 */
export async function prepareSymbol(
  ctx: Pick<FunctionContext, 'storage' | 'signal'>,
  model: BacktestModel,
  q: { symbol: string; timeframe: string; startMs: number; endMs: number },
): Promise<PreparedSymbol> {
  const t0 = performance.now()
  const end = Number.isFinite(q.endMs) ? q.endMs : undefined
  const series = await loadStrategyBars(ctx.storage.data, model.strategy, { symbol: q.symbol, end, signal: ctx.signal })
  const bars = series.get(model.baseTimeframe)!
  const t1 = performance.now()
  const matrix = buildFeatureMatrix(model.strategy, series, { normalization: model.normalization, signal: ctx.signal })
  const t2 = performance.now()
  const outputs = await predictWindow(model, matrix, lowerBound(bars.time, q.startMs), bars.length, ctx.signal)
  const t3 = performance.now()
  return {
    bars,
    barMs: timeframeMs(model.baseTimeframe),
    outputs,
    synthetic: bars.synthetic === true,
    timings: { load_data_s: (t1 - t0) / 1000, features_s: (t2 - t1) / 1000, inference_s: (t3 - t2) / 1000 },
  }
}

/**
 * Network outputs for every row in [from, to) whose input is complete (the row and the
 * sequence window before it all finite); other rows stay NaN (⇒ HOLD). `validFrom` is the
 * first predicted row: the warm-up follows the features.
 */
export async function predictWindow(
  model: BacktestModel,
  matrix: { values: Float32Array; cols: number; rows: number },
  from: number,
  to: number,
  signal?: AbortSignal,
): Promise<ModelOutputs> {
  const spec = model.loaded.spec
  const seq = spec.sequenceLength
  const kind = model.outputType === 'classification' ? 'classification' : model.outputType === 'regression' ? 'regression' : 'non_trading'
  const values = new Float32Array(matrix.rows * spec.outputSize).fill(Number.NaN)
  const src = { values: matrix.values, cols: matrix.cols }
  const endRows = predictableRows(src, matrix.rows, seq, Math.max(0, from - seq + 1), to)
  if (endRows.length > 0 && kind !== 'non_trading') {
    const raw = await predictRaw(model.loaded.model, spec, src, endRows, { softmax: kind === 'classification', signal, batchSize: 8192 })
    const k = spec.outputSize
    for (let i = 0; i < endRows.length; i++) values.set(raw.subarray(i * k, i * k + k), endRows[i] * k)
  }
  return { kind, values, outputSize: spec.outputSize, rows: matrix.rows, validFrom: endRows.length > 0 ? endRows[0] : matrix.rows }
}
