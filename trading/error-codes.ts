import { defineErrorCodes } from '../runtime/protocol/index.ts'

/**
 * The trading domain's codes: the core library, its functions (train, backtest, ib-fetch) and the
 * research API. The runtime knows none of them; `_errors.ts` registers this table with the catalog
 * KtrdrError reads, and refuses a name the runtime already uses.
 */
export const TRADING_ERROR_CODES = defineErrorCodes({
  // Market data
  DATA_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No cached bars for the symbol and timeframe: run ib-fetch or `ktrdr data import`/`synth`.',
  },
  DATA_INVALID: {
    status: 422,
    retryable: false,
    description: 'Stored bars break an OHLCV rule (order, high/low bounds, duplicates); the message names the rows.',
  },
  DATA_INSUFFICIENT: {
    status: 422,
    retryable: false,
    description: 'Too few bars or labelled rows for an indicator, label, split or training: widen the date range.',
  },
  DATA_INVALID_SYMBOL: {
    status: 400,
    retryable: false,
    description: 'A symbol must be 1-20 characters from A-Z a-z 0-9 _ - . (a forex pair for ib-fetch: EURUSD or EUR.USD).',
  },
  DATA_INVALID_TIMEFRAME: { status: 400, retryable: false, description: 'Not one of the supported timeframes (GET /api/v1/timeframes).' },
  DATA_INVALID_DATE: { status: 400, retryable: false, description: 'A date is not YYYY-MM-DD or an ISO timestamp.' },
  DATA_INVALID_RANGE: { status: 400, retryable: false, description: 'The start date is after the end date.' },
  DATA_INVALID_LIMIT: { status: 400, retryable: false, description: 'limit must be a positive integer.' },
  DATA_INVALID_BARS: {
    status: 400,
    retryable: false,
    description: 'A synthetic series needs a whole number of bars within the allowed range.',
  },
  DATA_INVALID_PRESET: { status: 400, retryable: false, description: 'Unknown synthetic preset: use forex or equity.' },
  DATA_INVALID_STRUCTURE: { status: 400, retryable: false, description: 'Unknown synthetic structure: use none or trend_regimes.' },
  DATA_EXISTS: {
    status: 409,
    retryable: false,
    description: 'Bars are already stored under the symbol and timeframe: generating or resampling replaces them only with --force.',
  },
  DATA_UNKNOWN_LAYOUT: { status: 400, retryable: false, description: 'An imported CSV has none of the supported column layouts.' },
  MULTI_TF_INSUFFICIENT_COVERAGE: {
    status: 422,
    retryable: false,
    description: "The strategy's timeframes overlap on fewer than 7 days and 50 bars in every timeframe.",
  },

  // Indicators, features, labels
  INDICATOR_UNKNOWN: { status: 400, retryable: false, description: 'The strategy names an indicator type that does not exist.' },
  INDICATOR_PARAMS_INVALID: {
    status: 400,
    retryable: false,
    description: "An indicator's parameters are out of range or of the wrong type.",
  },
  INDICATOR_INSUFFICIENT_DATA: { status: 422, retryable: false, description: 'Fewer bars than the indicator needs to produce a value.' },
  INDICATOR_INVALID_DATA: {
    status: 422,
    retryable: false,
    description: 'The bars lack what the indicator needs (real volume for volume indicators).',
  },
  INDICATOR_OUTPUT_MISMATCH: {
    status: 500,
    retryable: false,
    description: 'An indicator returned other outputs than it declares (a bug in the indicator).',
  },
  INDICATOR_OUTPUT_MISSING: {
    status: 500,
    retryable: false,
    description: 'A feature reads an indicator output that was not produced (a bug in the feature build).',
  },
  FEATURES_CONTEXT_DATA_UNSUPPORTED: {
    status: 400,
    retryable: false,
    description: 'An indicator reads a context_data source, which is not supported.',
  },
  FEATURES_MISSING_TIMEFRAME: { status: 400, retryable: false, description: 'A timeframe the strategy uses has no bars passed in.' },
  FEATURES_MISMATCH: {
    status: 400,
    retryable: false,
    description: 'Feature matrices of several symbols have different columns: build them from one strategy.',
  },
  FEATURES_NO_NORMALIZATION: {
    status: 400,
    retryable: false,
    description: 'Normalization needs the per-column methods of a matrix from buildFeatureMatrix.',
  },
  FEATURES_NO_TRAIN_DATA: {
    status: 422,
    retryable: false,
    description: 'A feature has no finite value in the training rows, so it cannot be normalized: give more history.',
  },
  FEATURES_NORMALIZATION_MISMATCH: {
    status: 422,
    retryable: false,
    description: "The model's normalization names a feature the matrix does not have.",
  },
  LABELS_MISALIGNED: { status: 500, retryable: false, description: 'Labels and feature rows cover different bars (a bug in the caller).' },
  LABELS_ZERO_CLOSE: { status: 422, retryable: false, description: 'A close of 0 makes forward returns undefined: clean the data.' },
  LABELS_DEGENERATE: {
    status: 422,
    retryable: false,
    description: 'The labels are degenerate (one class, a rare class, too few legs): details lists each check.',
  },
  NO_SYMBOLS: { status: 400, retryable: false, description: 'Nothing to train on: no symbol was given.' },

  // Strategies
  STRATEGY_INVALID: {
    status: 422,
    retryable: false,
    description: 'The strategy does not validate against the v3 grammar (details lists each issue) or does not parse.',
  },
  STRATEGY_NAME_INVALID: {
    status: 400,
    retryable: false,
    description: 'A strategy name is 1-100 letters, digits, dot, dash or underscore.',
  },
  STRATEGY_NAME_MISMATCH: {
    status: 422,
    retryable: false,
    description:
      "The YAML's name: differs from the file name the strategy is stored under and cannot be rewritten in place: set name: to the file name.",
  },
  STRATEGY_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No strategy of this name in the strategies mount: upload it first (`ktrdr strategy upload`).',
  },

  // Models and training
  MODEL_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No trained model at this path or version: check model_path or train the strategy first.',
  },
  MODEL_FILE_NOT_FOUND: { status: 404, retryable: false, description: 'The model version has no file of this name.' },
  MODEL_SET_NOT_FOUND: {
    status: 404,
    retryable: false,
    description:
      'No model of the strategy (latest, or with the tag) was trained on a symbol set containing the requested symbols; the message lists the sets.',
  },
  MODEL_TAG_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No model of the strategy carries this tag (or not the version named); the message lists its tags.',
  },
  MODEL_TAG_INVALID: {
    status: 400,
    retryable: false,
    description: 'A tag is a letter, then up to 39 letters, digits, _ or -; `latest` is not a tag (it always means the newest).',
  },
  MODEL_AMBIGUOUS: {
    status: 422,
    retryable: false,
    description:
      'A model reference (`…_latest`, `@tag`) fits several models (symbol sets or timeframes); the message lists them: give the symbol, timeframe or version.',
  },
  MODEL_CORRUPT: {
    status: 422,
    retryable: false,
    description: "A model's files do not match the checksums recorded when it was saved, or do not load: train it again.",
  },
  MODEL_FEATURES_MISMATCH: {
    status: 422,
    retryable: false,
    description: 'The features built for the backtest differ from those the model was trained on.',
  },
  NAN_LOSS: {
    status: 422,
    retryable: false,
    description: 'The training loss became NaN or infinite: check the features and lower the learning rate.',
  },
  TRAINING_PATH_UNSUPPORTED: {
    status: 422,
    retryable: false,
    description:
      'training_path "fused" was asked for a network the fused trainer cannot train (LSTM/GRU, an optimizer other than Adam); use "tfjs" or "auto".',
  },
  RESULT_INVALID: { status: 422, retryable: false, description: 'A stored result file does not have the shape its reader expects.' },
  RUN_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'The backtest has no run for this symbol or parameter set; the message lists the runs it has.',
  },
  DASHBOARD_NOT_INSTALLED: {
    status: 404,
    retryable: false,
    description: "The dashboard's files are not where this gateway looks (KTRDR_UI_DIR); the API works without them.",
  },
  DATA_TIMEFRAME_MISMATCH: {
    status: 422,
    retryable: false,
    description: 'Imported bars are spaced unlike the timeframe given (daily bars imported as 1h); the message shows the spacing found.',
  },
  RESAMPLE_INVALID: {
    status: 400,
    retryable: false,
    description: 'A resample from one timeframe to another that cannot be derived (target not coarser, or not a multiple).',
  },
  TRAINING_FAILED: { status: 500, retryable: false, description: 'Training stopped on an unexpected error; the message has it.' },

  // Backtests
  BACKTEST_CONFIG_INVALID: {
    status: 400,
    retryable: false,
    description: "A backtest engine parameter (input or the strategy's decisions) is out of range.",
  },
  BACKTEST_WINDOW_EMPTY: { status: 422, retryable: false, description: 'No bars between start_date and end_date.' },
  BACKTEST_IN_SAMPLE: {
    status: 422,
    retryable: false,
    description: "The backtest window overlaps the model's training data: start after its in-sample end.",
  },

  // Interactive Brokers (ib-fetch)
  IB_CONNECT_FAILED: {
    status: 503,
    retryable: true,
    description: 'Cannot connect to IB Gateway/TWS at IB_HOST:IB_PORT, or it closed the connection.',
  },
  IB_CONNECT_TIMEOUT: {
    status: 503,
    retryable: true,
    description: 'IB Gateway/TWS accepted the connection but did not complete the API handshake in time.',
  },
  IB_CLIENT_IDS_EXHAUSTED: { status: 503, retryable: true, description: 'Every IB client id in IB_CLIENT_ID is in use.' },
  IB_UNSUPPORTED_TIMEFRAME: { status: 400, retryable: false, description: 'IB has no bar size for this timeframe.' },
  IB_REQUEST_REJECTED: {
    status: 422,
    retryable: false,
    description: 'IB refused the request for good (unknown contract, no permission); details.ib_code has its error code.',
  },
  IB_PACING: { status: 503, retryable: true, description: 'IB pacing violation: the fetch backs off and retries.' },
  IB_NO_DATA: { status: 503, retryable: true, description: 'IB returned no data for a segment.' },
  IB_CONNECTIVITY: { status: 503, retryable: true, description: 'IB lost its connection to its servers (1100/2110).' },
  IB_DISCONNECTED: { status: 503, retryable: true, description: 'The connection to IB Gateway/TWS dropped.' },
  IB_TRANSIENT: { status: 503, retryable: true, description: 'Any other IB error; retried a bounded number of times.' },

  // Research API
  RESULT_NOT_FOUND: { status: 404, retryable: false, description: 'No file or folder under this key in the results mount.' },
  OPERATION_NOT_FINISHED: {
    status: 400,
    retryable: true,
    description: 'The operation is pending or running: its results and performance exist once it finishes.',
  },
  OPERATION_FAILED: {
    status: 409,
    retryable: false,
    description: 'The operation failed: it has no results to draw; its error is at GET /api/v1/operations/:id/results.',
  },
  OPERATION_CANCELLED: { status: 400, retryable: false, description: 'The operation was cancelled: it has no results.' },
  NOT_A_BACKTEST: {
    status: 400,
    retryable: false,
    description: 'A backtest view (chart, report, comparison) was asked of an operation that is not a backtest.',
  },
  NOT_A_TRAINING: {
    status: 400,
    retryable: false,
    description: 'The operation is not a training: use GET /api/v1/operations/:id/results.',
  },
  TRAINING_NOT_COMPLETED: {
    status: 400,
    retryable: false,
    description: 'The training failed or was cancelled: performance exists only for completed trainings.',
  },

  // Design, assessment and the research loop
  DESIGN_NO_DATA: {
    status: 422,
    retryable: false,
    description: 'No market data matches the design constraints (symbols, timeframes): load or generate data first.',
  },
  DESIGN_CONSTRAINTS_INVALID: {
    status: 422,
    retryable: false,
    description: 'The design constraints leave nothing to design with (indicators outside the design catalog, an empty choice).',
  },
  DESIGN_REFUSED: {
    status: 422,
    retryable: false,
    description: 'The model wrote no strategy that validates within max_attempts; details lists every attempt and why it was refused.',
  },
  ASSESS_REFUSED: {
    status: 422,
    retryable: true,
    description: 'The model wrote no complete assessment in 3 attempts (cut off by max_tokens); retry with more max_tokens.',
  },
  EXPERIMENT_NOT_FOUND: { status: 404, retryable: false, description: 'No experiment record with this id in the memory mount.' },
  RESEARCH_BUDGET_EXHAUSTED: {
    status: 429,
    retryable: true,
    description:
      "The model's LLM token budget for the UTC day is spent (KTRDR_RESEARCH_TOKENS_PER_DAY); new loops start after midnight UTC.",
  },

  // Walk-forward analysis and sweeps
  WALKFORWARD_NO_FOLDS: {
    status: 422,
    retryable: false,
    description: 'Not one train → test fold fits between start_date and end_date: shorten train_window or test_window, or widen the range.',
  },
  WALKFORWARD_NO_BARS: {
    status: 422,
    retryable: false,
    description:
      'Every fold of the walk-forward has a training or test window without bars (weekends, holidays, gaps in the data): pick a range or windows that hold trading days.',
  },
})
