import { createHash } from 'node:crypto'
import type { Storage } from 'unstorage'
import { parse as parseYaml } from 'yaml'
import { loadStrategyBars } from '../../../trading/index.ts'
import { resolveStrategy, strategyNameOf } from '../../../trading/index.ts'
import type { ResolvedStrategy } from '../../../trading/index.ts'
import type { OhlcvSeries } from '../../../trading/index.ts'
import { KtrdrError } from '../../../trading/index.ts'
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
  const name = input.strategy_name!
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.includes('..')) {
    throw new KtrdrError({
      code: 'STRATEGY_NAME_INVALID',
      message: `Strategy name "${name}" may only use letters, digits, dot, dash and underscore`,
    })
  }
  const stem = strategyNameOf(name)
  for (const key of [`${stem}.yaml`, `${stem}.yml`, stem]) {
    const raw = await strategies.getItemRaw(key)
    if (raw != null) return { yaml: typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8'), name: stem }
  }
  throw new KtrdrError({
    code: 'STRATEGY_NOT_FOUND',
    message: `Strategy "${stem}" is not in the strategies store: upload it (ktrdr strategy upload <file>, or PUT /api/v1/strategies/<name>) or pass strategy_yaml`,
  })
}

/**
 * Parses and resolves the strategy after applying `symbols` / `timeframes` overrides to the
 * YAML document, so the strategy parser validates the combination as a whole. A strategy read by
 * name resolves to that name (docs/decisions.md#one-name-per-strategy): its model folder.
 */
export function resolveStrategySource(yaml: string, input: Pick<TrainInput, 'symbols' | 'timeframes'>, name?: string): StrategySource {
  let doc: unknown
  try {
    doc = parseYaml(yaml)
  } catch (cause) {
    throw new KtrdrError({
      code: 'STRATEGY_INVALID',
      message: `Strategy YAML does not parse: ${(cause as Error).message}`,
      cause,
    })
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new KtrdrError({ code: 'STRATEGY_INVALID', message: 'Strategy YAML must be a mapping' })
  const d = structuredClone(doc) as Record<string, unknown>
  const td = { ...(d.training_data as Record<string, unknown> | undefined) }
  if (input.symbols?.length)
    td.symbols = input.symbols.length === 1 ? { mode: 'single', symbol: input.symbols[0] } : { mode: 'multi_symbol', list: input.symbols }
  if (input.timeframes?.length)
    td.timeframes =
      input.timeframes.length === 1
        ? { mode: 'single', timeframe: input.timeframes[0] }
        : { mode: 'multi_timeframe', list: input.timeframes, base_timeframe: input.timeframes[0] }
  if (input.symbols?.length || input.timeframes?.length) d.training_data = td
  const strategy = resolveStrategy(d, name === undefined ? {} : { name })
  return { yaml, doc: d, strategy }
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
