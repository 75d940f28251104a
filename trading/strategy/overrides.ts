import { parse as parseYaml } from 'yaml'
import { KtrdrError } from '../_errors.ts'
import { resolveStrategy } from './parse.ts'
import type { ResolvedStrategy } from './types.ts'

/** What a training request may override in the strategy's training_data. */
export interface TrainingOverrides {
  symbols?: readonly string[]
  timeframes?: readonly string[]
}

/**
 * Parses a strategy and resolves it after applying a training request's `symbols` / `timeframes`
 * to its training_data, so the grammar validates the combination as a whole. The train function
 * and the gateway's invoke check for train both go through here.
 */
export function resolveTrainingStrategy(
  yaml: string,
  overrides: TrainingOverrides = {},
  /** The registered name of a stored strategy (docs/decisions.md#one-name-per-strategy); inline YAML has none. */
  name?: string,
): { doc: Record<string, unknown>; strategy: ResolvedStrategy } {
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
  const { symbols, timeframes } = overrides
  if (symbols?.length)
    td.symbols = symbols.length === 1 ? { mode: 'single', symbol: symbols[0] } : { mode: 'multi_symbol', list: [...symbols] }
  if (timeframes?.length)
    td.timeframes =
      timeframes.length === 1
        ? { mode: 'single', timeframe: timeframes[0] }
        : { mode: 'multi_timeframe', list: [...timeframes], base_timeframe: timeframes[0] }
  if (symbols?.length || timeframes?.length) d.training_data = td
  return { doc: d, strategy: resolveStrategy(d, name === undefined ? {} : { name }) }
}
