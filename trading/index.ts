// Public entry of the trading core: what train, backtest, ib-fetch and the research API import.
// The tfjs model lives behind the second entry, trading/model/index.ts. From the runtime only
// runtime/protocol (KtrdrError) and storage are used.

export * from './types.ts'

// Errors: the runtime's KtrdrError, with the domain's codes registered (trading/error-codes.ts)
export { KtrdrError, createKtrdrError, isKtrdrError, TRADING_ERROR_CODES } from './_errors.ts'

// Storage layout of models and backtest results, and the trading functions' names
export {
  modelDirName,
  modelVersionKey,
  modelLatestKey,
  backtestRunKey,
  modelSetKey,
  modelSetLatestKey,
  modelTagKey,
  symbolSetOf,
  MODEL_FILES,
  MODEL_VERSION_DIR_RE,
  MODEL_LATEST_POINTER_RE,
  MODEL_SETS_DIR_RE,
  MODEL_TAG_RE,
  RESERVED_MODEL_TAGS,
  TRADING_FUNCTIONS,
  LLM_MODEL_NAME_RE,
  llmModelKey,
  llmModelMetaKey,
  type LatestPointer,
  type ModelTagRecord,
  type SymbolSet,
} from './layout.ts'
// Sampling seeds of the LLM functions (no llama.cpp: the research loop's request checks use them too)
export { LLM_SEED_MAX, randomLlmSeed } from './llm-seed.ts'
// Which stored model a backtest request means (no tfjs: the gateway's checks use it too)
export { resolveModelKey, resolveModelRef } from './model-ref.ts'

// The model catalogue: versions by symbol set, latest pointers, tags, and references to them
// (`<strategy>/<tf>_latest`, `<strategy>@<tag>`), without tfjs
export { readModelCatalog, readJsonItem, type ModelCatalog, type ModelSetEntry } from './catalog/read.ts'
export { recordModelVersion, tagModelVersion, untagModelVersion } from './catalog/write.ts'
export {
  parseModelReference,
  resolveModelReference,
  type ModelReference,
  type ModelWant,
  type ResolvedModelReference,
} from './catalog/resolve.ts'

// Market data
export {
  parseOhlcvCsv,
  formatOhlcvCsv,
  encodeOhlcvCsv,
  summarizeOhlcvCsv,
  validateSeries,
  type OhlcvCsvSummary,
  type DataIssue,
  type ParsedOhlcv,
  type ParseOhlcvOptions,
} from './data/csv.ts'
export {
  loadBars,
  saveBars,
  listDatasets,
  readMeta,
  resolveRange,
  dataNotFound,
  dataInvalid,
  type LoadBarsOptions,
  type SaveBarsOptions,
  type DatasetInfo,
  type DatasetMeta,
} from './data/store.ts'
export { mergeBars, sortedUnique } from './data/merge.ts'
export {
  loadStrategyBars,
  restrictToCommonCoverage,
  commonCoverage,
  MULTI_TF_MIN_BARS,
  MULTI_TF_MIN_DAYS,
  type LoadStrategyBarsOptions,
  type CommonCoverage,
} from './data/strategy-bars.ts'
export { createSeries, sliceSeries, sliceByTime, lowerBound } from './data/series.ts'
export {
  SYMBOL_RE,
  isValidSymbol,
  isTimeframe,
  assertSymbol,
  assertTimeframe,
  timeframeMs,
  datasetKey,
  metaKey,
  parseDatasetKey,
} from './data/_symbols.ts'
export { formatIsoSeconds, parseDateInput } from './data/_time.ts'
export { importVendorCsv, detectVendorLayout, checkBarSpacing, type VendorLayout, type ImportResult } from './data/import.ts'
export { resampleSeries, sessionFor, SESSION_CALENDARS, type SessionCalendar } from './data/resample.ts'
export { importCsvToStore, refuseOverwrite, storeSyntheticSeries, type StoredImport, type StoredSynthetic } from './data/write.ts'
export { mulberry32, createRng } from './rng.ts'
export {
  generateSyntheticSeries,
  PLANTED_REGIME_BARS,
  SYNTHETIC_GENERATOR,
  type SyntheticOptions,
  type SyntheticPreset,
} from './data/synthetic.ts'

// Strategy grammar
export { STRATEGY_LIMITS } from './strategy/limits.ts'
export { validateStrategy, resolveStrategy, formatStrategyIssue, type ParseStrategyOptions } from './strategy/parse.ts'
export { findStoredStrategy, strategyNotFound } from './strategy/store.ts'
export { resolveTrainingStrategy, type TrainingOverrides } from './strategy/overrides.ts'
export type * from './strategy/types.ts'
export {
  STRATEGY_NAME_RE,
  strategyNameOf,
  checkStrategyName,
  registerStrategyName,
  prepareStrategyUpload,
  type RegisteredSource,
} from './strategy/name.ts'
export * from './strategy/grammar.ts'

// Indicators
export { getIndicator, listIndicators, requireIndicator, resolveIndicatorParams, computeIndicator } from './indicators/registry.ts'
export { describeIndicator, describeIndicators, type IndicatorInfo, type IndicatorParamInfo } from './indicators/describe.ts'

// Fuzzy
export { triangular, trapezoidal, gaussian, sigmoid, evaluateMembership, fuzzify, fuzzifyInto } from './fuzzy/membership.ts'

// Features
export {
  buildFeatureMatrix,
  computeStrategyIndicators,
  findFirstValidRow,
  type BuildFeatureOptions,
  type BuiltFeatureMatrix,
  type SeriesByTimeframe,
} from './features/build.ts'
export { alignByClose } from './features/align.ts'
export {
  fitNormalization,
  applyNormalization,
  fillMissing,
  type NormalizationParams,
  type FeatureNormalization,
  type RowRange,
} from './features/normalization.ts'

// Labels
export { buildLabels, alignFeaturesAndLabels, stackAligned, type AlignedSet } from './labels/build.ts'
export { zigzagLabels, zigzagPivots, BUY, HOLD, SELL } from './labels/zigzag.ts'
export {
  tripleBarrierLabels,
  barrierVolatility,
  cusumEvents,
  uniquenessWeights,
  type TripleBarrierOptions,
  type TripleBarrierLabelSet,
} from './labels/triple-barrier.ts'
export { forwardReturnLabels, contextLabels } from './labels/forward-return.ts'
export { chronologicalSplit, purgedSplit, type SplitRanges, type SplitRatios } from './labels/split.ts'

// Strategy design by a local LLM: the grammar's catalog (from the indicator registry), the draft
// schema, draft → v3 compilation, and the research memory the loop writes and design reads
export { designCatalog, paramGrid, type DesignIndicator } from './design/catalog.ts'
export {
  designSchema,
  CONFIDENCE_CHOICES,
  DROPOUT_CHOICES,
  HIDDEN_LAYER_CHOICES,
  MEMBERSHIP_CHOICES,
  SEQUENCE_LENGTH_CHOICES,
  ZIGZAG_CHOICES,
  type DesignDraft,
  type DesignSpace,
} from './design/schema.ts'
export { compileDesign, type CompileDesignOptions, type CompiledDesign } from './design/compile.ts'
export {
  createHypothesesFile,
  experimentId,
  experimentKey,
  hypothesesYaml,
  EXPERIMENT_ID_RE,
  HYPOTHESES_KEY,
  listExperimentIds,
  readExperiment,
  readHypotheses,
  readMemorySummary,
  recordHypotheses,
  settleHypotheses,
  writeExperiment,
  type ExperimentRecord,
  type Hypothesis,
  type HypothesisStatus,
} from './design/memory.ts'
export { assessmentFacts, FACT_RULES, VERDICTS, type AssessmentFacts, type Verdict } from './design/facts.ts'
