// Where the trading functions keep their outputs in storage, in one place: train and backtest write
// these keys, the research API reads them back. Plain strings only (no tfjs), so readers stay light.
import { createHash } from 'node:crypto'
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
 * immutable folder per version (numbered per strategy and timeframe), metadata.json written last (a
 * version without it is incomplete). Per symbol set the models were trained on,
 * `<strategy>/<tf>_sets/<set>/latest.json` names the newest version and `…/tags/<tag>.json` the
 * version a researcher pinned. `<strategy>/<tf>_latest` = {version, key, updated_at} is the newest
 * version of any set: what readers before symbol sets resolve, still written for them.
 */
export const MODEL_VERSION_DIR_RE = /^([0-9]+[a-zA-Z]+)_v(\d+)$/
export const MODEL_LATEST_POINTER_RE = /^([0-9]+[a-zA-Z]+)_latest$/
export const MODEL_SETS_DIR_RE = /^([0-9]+[a-zA-Z]+)_sets$/
/** A tag: a letter, then letters, digits, `_` or `-`; `latest` is not one (it always means the newest). */
export const MODEL_TAG_RE = /^[A-Za-z][A-Za-z0-9_-]{0,39}$/
export const RESERVED_MODEL_TAGS: readonly string[] = ['latest']
export const MODEL_FILES = { network: ['model.json', 'weights.bin'], metadata: 'metadata.json', metrics: 'metrics.json' } as const

export function modelVersionKey(strategyName: string, timeframe: string, version: number): string {
  return `${modelDirName(strategyName)}/${timeframe}_v${version}`
}

export function modelLatestKey(strategyName: string, timeframe: string): string {
  return `${modelDirName(strategyName)}/${timeframe}_latest`
}

/** What `<strategy>/<tf>_latest` and a set's `latest.json` hold (the latter with its symbols). */
export interface LatestPointer {
  version: number
  key: string
  updated_at: string
  symbols?: string[]
}

/** What `<strategy>/<tf>_sets/<set>/tags/<tag>.json` holds. */
export interface ModelTagRecord {
  tag: string
  version: number
  key: string
  timeframe: string
  symbols: string[]
  updated_at: string
  /** The version the tag left when it was moved here; null when it was new. */
  previous: { version: number; key: string } | null
}

/** The symbols a model was trained on, sorted and deduplicated, and the folder name of that set. */
export interface SymbolSet {
  symbols: string[]
  name: string
}

// A readable name (`AAPL+MSFT`) is a safe file name when each symbol starts with a letter, digit,
// `_` or `-` and does not end in `.`; `+` never occurs in a symbol. Other sets (long, empty, odd
// symbols) are named `~<sha256 prefix>`: `~` never occurs in a symbol either, so no two sets share a name.
const READABLE_SYMBOL = /^[A-Za-z0-9_-](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/
const READABLE_MAX = 120

export function symbolSetOf(symbols: readonly string[]): SymbolSet {
  const sorted = [...new Set(symbols)].sort()
  const joined = sorted.join('+')
  const readable = sorted.length > 0 && joined.length <= READABLE_MAX && sorted.every((s) => READABLE_SYMBOL.test(s))
  return { symbols: sorted, name: readable ? joined : `~${createHash('sha256').update(joined).digest('hex').slice(0, 16)}` }
}

/** `<strategy>/<tf>_sets/<set>`: the pointers of one symbol set. */
export function modelSetKey(strategyName: string, timeframe: string, setName: string): string {
  return `${modelDirName(strategyName)}/${timeframe}_sets/${setName}`
}

export function modelSetLatestKey(strategyName: string, timeframe: string, setName: string): string {
  return `${modelSetKey(strategyName, timeframe, setName)}/latest.json`
}

export function modelTagKey(strategyName: string, timeframe: string, setName: string, tag: string): string {
  return `${modelSetKey(strategyName, timeframe, setName)}/tags/${tag}.json`
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
