// Where the trading functions keep their outputs in storage, in one place: train and backtest write
// these keys, the research API reads them back. Plain strings only (no tfjs), so readers stay light.
import { createKtrdrError } from './_errors.ts'

/** Strategy names become key segments: keep them to characters every driver and filesystem accepts. */
export function modelDirName(strategyName: string): string {
  const safe = strategyName
    .trim()
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .replace(/^\.+/, '_')
  if (!safe)
    throw createKtrdrError('STRATEGY_NAME_INVALID', 'A model needs a strategy name made of letters, digits, dot, dash or underscore')
  return safe
}

/**
 * Models mount: `<strategy>/<tf>_v<N>/{model.json, weights.bin, metrics.json, metadata.json}`, one
 * immutable folder per version, metadata.json written last (a version without it is incomplete),
 * and `<strategy>/<tf>_latest` = {version, key, updated_at}.
 */
export const MODEL_VERSION_DIR_RE = /^([0-9]+[a-zA-Z]+)_v(\d+)$/
export const MODEL_LATEST_POINTER_RE = /^([0-9]+[a-zA-Z]+)_latest$/
export const MODEL_FILES = { network: ['model.json', 'weights.bin'], metadata: 'metadata.json', metrics: 'metrics.json' } as const

export function modelVersionKey(strategyName: string, timeframe: string, version: number): string {
  return `${modelDirName(strategyName)}/${timeframe}_v${version}`
}

export function modelLatestKey(strategyName: string, timeframe: string): string {
  return `${modelDirName(strategyName)}/${timeframe}_latest`
}

/** What `<strategy>/<tf>_latest` holds. */
export interface LatestPointer {
  version: number
  key: string
  updated_at: string
}

/** Results mount: one backtest run's details (trades.json, equity.csv) under `backtests/<op>/<symbol>/run_<i>`. */
export function backtestRunKey(operationId: string, symbol: string, setIndex: number): string {
  return `backtests/${operationId}/${symbol}/run_${setIndex}`
}

/** The trading functions by role, for the routes that map the deployment guide's endpoints onto them and the research loop. */
export const TRADING_FUNCTIONS = {
  train: 'train',
  backtest: 'backtest',
  fetchData: 'ib-fetch',
  design: 'design',
  assess: 'assess',
} as const

/** LLM models in the `models` mount: `llm/<name>.gguf`, with `llm/<name>.json` recording its sha256 (ktrdr llm publish). */
export const LLM_MODEL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
export const llmModelKey = (name: string) => `llm/${name}.gguf`
export const llmModelMetaKey = (name: string) => `llm/${name}.json`
