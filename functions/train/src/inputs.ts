import { createHash } from 'node:crypto'
import type { Storage } from 'unstorage'
import { loadStrategyBars } from '../../../trading/index.ts'
import { findStoredStrategy, resolveTrainingStrategy, strategyNotFound } from '../../../trading/index.ts'
import type { ResolvedStrategy } from '../../../trading/index.ts'
import type { OhlcvSeries } from '../../../trading/index.ts'
import type { TrainInput } from './schema.ts'

export interface StrategySource {
  yaml: string
  /** The YAML as a plain object, with the invocation's symbol/timeframe overrides applied. */
  doc: Record<string, unknown>
  strategy: ResolvedStrategy
}

export interface StrategyText {
  yaml: string
  /** The registered name (file name without extension) when read from the mount; inline YAML has none. */
  name?: string
}

/** The function reads strategies only from the `strategies` mount (the gateway/CLI stores them there). */
export async function readStrategyYaml(
  strategies: Storage,
  input: Pick<TrainInput, 'strategy_yaml' | 'strategy_name'>,
): Promise<StrategyText> {
  if (input.strategy_yaml) return { yaml: input.strategy_yaml }
  const stored = await findStoredStrategy(strategies, input.strategy_name!)
  if (!stored) throw strategyNotFound(input.strategy_name!)
  return { yaml: stored.yaml, name: stored.name }
}

/**
 * Parses and resolves the strategy after applying `symbols` / `timeframes` overrides to the
 * YAML document, so the strategy parser validates the combination as a whole. A strategy read by
 * name resolves to that name (docs/decisions.md#one-name-per-strategy): its model folder.
 */
export function resolveStrategySource(yaml: string, input: Pick<TrainInput, 'symbols' | 'timeframes'>, name?: string): StrategySource {
  const { doc, strategy } = resolveTrainingStrategy(yaml, input, name)
  return { yaml, doc, strategy }
}

export interface LoadedData {
  /** symbol → timeframe → bars */
  series: Map<string, Map<string, OhlcvSeries>>
  sha256: string
  synthetic: boolean
  start_date: string | null
  end_date: string | null
}

/** Bars for every symbol × timeframe (restricted to their common coverage, docs/domain.md#multi-timeframe-alignment), and a sha256 over exactly the bars used. */
export async function loadTrainingBars(
  data: Storage,
  strategy: ResolvedStrategy,
  range: { start?: string; end?: string },
  signal?: AbortSignal,
): Promise<LoadedData> {
  const hash = createHash('sha256')
  const series = new Map<string, Map<string, OhlcvSeries>>()
  let synthetic = false
  let first = Infinity
  let last = -Infinity
  for (const symbol of strategy.training_data.symbols) {
    const byTf = await loadStrategyBars(data, strategy, { symbol, start: range.start, end: range.end, signal })
    for (const [timeframe, bars] of byTf) {
      synthetic ||= !!bars.synthetic
      hash.update(`${symbol}|${timeframe}|${bars.length}\n`)
      for (const col of [bars.time, bars.open, bars.high, bars.low, bars.close, bars.volume])
        hash.update(new Uint8Array(col.buffer, col.byteOffset, bars.length * 8))
      if (timeframe === strategy.training_data.base_timeframe && bars.length) {
        first = Math.min(first, bars.time[0])
        last = Math.max(last, bars.time[bars.length - 1])
      }
    }
    series.set(symbol, byTf)
  }
  const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null)
  return { series, sha256: hash.digest('hex'), synthetic, start_date: iso(first), end_date: iso(last) }
}
