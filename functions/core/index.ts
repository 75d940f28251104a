// Public entry of the trading core: what train, backtest and ib-fetch import. Nothing here
// depends on the runtime (only on runtime/protocol/errors.ts, a leaf module, for KtrdrError).

export * from './src/types.ts'

// Market data
export { parseOhlcvCsv, formatOhlcvCsv, encodeOhlcvCsv, summarizeOhlcvCsv, validateSeries, type OhlcvCsvSummary, type DataIssue, type ParsedOhlcv, type ParseOhlcvOptions } from './src/data/csv.ts'
export { loadBars, saveBars, listDatasets, readMeta, resolveRange, dataNotFound, dataInvalid, type LoadBarsOptions, type SaveBarsOptions, type DatasetInfo, type DatasetMeta } from './src/data/store.ts'
export { mergeBars, sortedUnique } from './src/data/merge.ts'
export { loadStrategyBars, restrictToCommonCoverage, commonCoverage, MULTI_TF_MIN_BARS, MULTI_TF_MIN_DAYS, type LoadStrategyBarsOptions, type CommonCoverage } from './src/data/strategy-bars.ts'
export { createSeries, sliceSeries, sliceByTime, lowerBound } from './src/data/series.ts'
export { SYMBOL_RE, isValidSymbol, isTimeframe, assertSymbol, assertTimeframe, timeframeMs, datasetKey, metaKey, parseDatasetKey } from './src/data/_symbols.ts'
export { formatIsoSeconds, parseDateInput } from './src/data/_time.ts'
export { importVendorCsv, detectVendorLayout, type VendorLayout, type ImportResult } from './src/data/import.ts'
export { mulberry32, createRng } from './src/rng.ts'
export { generateSyntheticSeries, SYNTHETIC_GENERATOR, type SyntheticOptions, type SyntheticPreset } from './src/data/synthetic.ts'

// Strategy grammar
export { STRATEGY_LIMITS } from './src/strategy/limits.ts'
export { validateStrategy, resolveStrategy, formatStrategyIssue, type ParseStrategyOptions } from './src/strategy/parse.ts'
export type * from './src/strategy/types.ts'

// Indicators
export { getIndicator, listIndicators, requireIndicator, resolveIndicatorParams, computeIndicator } from './src/indicators/registry.ts'

// Fuzzy
export { triangular, trapezoidal, gaussian, sigmoid, evaluateMembership, fuzzify, fuzzifyInto } from './src/fuzzy/membership.ts'

// Features
export { buildFeatureMatrix, computeStrategyIndicators, findFirstValidRow, type BuildFeatureOptions, type BuiltFeatureMatrix, type SeriesByTimeframe } from './src/features/build.ts'
export { alignByClose } from './src/features/align.ts'
export { fitNormalization, applyNormalization, fillMissing, type NormalizationParams, type FeatureNormalization, type RowRange } from './src/features/normalization.ts'

// Labels
export { buildLabels, alignFeaturesAndLabels, stackAligned, type AlignedSet } from './src/labels/build.ts'
export { zigzagLabels, zigzagPivots, BUY, HOLD, SELL } from './src/labels/zigzag.ts'
export { tripleBarrierLabels, barrierVolatility, cusumEvents, uniquenessWeights, type TripleBarrierOptions, type TripleBarrierLabelSet } from './src/labels/triple-barrier.ts'
export { forwardReturnLabels, contextLabels } from './src/labels/forward-return.ts'
export { chronologicalSplit, purgedSplit, type SplitRanges, type SplitRatios } from './src/labels/split.ts'
