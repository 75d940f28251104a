import { isAbsolute } from 'node:path'
import type { Storage } from 'unstorage'
import { defineGatewayRoutes, defineInvokeCheck } from '../../runtime/gateway/index.ts'
import type { KtrdrStorage } from '../../storage/index.ts'
import {
  assertSymbol,
  assertTimeframe,
  dataNotFound,
  datasetKey,
  findStoredStrategy,
  isKtrdrError,
  KtrdrError,
  MODEL_FILES,
  parseDateInput,
  resolveModelKey,
  resolveModelRef,
  resolveRange,
  resolveTrainingStrategy,
  strategyNotFound,
  TRADING_FUNCTIONS,
} from '../../trading/index.ts'

/**
 * What train and backtest would refuse on the host, refused at the gateway before the 202 with the
 * same codes: a start_date after the end_date, a strategy or model that is not stored, no data for
 * a symbol and timeframe the run needs. The manifest's JSON Schema has already refused unknown
 * keys and the "one of" rules; these need storage or dates, which a schema cannot say.
 */
export default defineGatewayRoutes((_router, ctx) => {
  ctx.invokeChecks.add(trainCheck)
  ctx.invokeChecks.add(backtestCheck)
})

interface Dated {
  start_date?: string
  end_date?: string
}

export const trainCheck = defineInvokeCheck<
  Dated & { strategy_yaml?: string; strategy_name?: string; symbols?: string[]; timeframes?: string[] }
>(TRADING_FUNCTIONS.train, async (input, { storage }) => {
  checkDates(input)
  let yaml = input.strategy_yaml
  let name: string | undefined
  if (!yaml && input.strategy_name) {
    const stored = await findStoredStrategy(storage.strategies, input.strategy_name)
    if (!stored) throw strategyNotFound(input.strategy_name)
    ;({ yaml, name } = stored)
  }
  if (!yaml) return
  const { strategy } = resolveTrainingStrategy(yaml, input, name)
  await requireData(storage.data, strategy.training_data.symbols, strategy.training_data.timeframes)
})

export const backtestCheck = defineInvokeCheck<
  Dated & { model_path?: string; strategy_name?: string; symbol?: string; symbols?: string[]; timeframe?: string }
>(TRADING_FUNCTIONS.backtest, async (input, { storage }) => {
  checkDates(input)
  const ref = await resolveModelRef(storage.strategies, input)
  const modelsDir = fsBase(storage, 'models')
  // An absolute model_path names a folder on the hosts' disks; when it is not under this gateway's
  // models folder (another mount point), only the host can tell whether it exists.
  if (isAbsolute(ref.trim()) && !modelsDir) return
  const symbols = [...new Set([...(input.symbol ? [input.symbol] : []), ...(input.symbols ?? [])])]
  let key: string
  try {
    // `…_latest` and `…@<tag>` mean the model of a symbol set holding every symbol run, as the function resolves them.
    ;({ key } = await resolveModelKey(storage.models, ref, modelsDir, { symbols, timeframe: input.timeframe }))
  } catch (error) {
    if (isAbsolute(ref.trim()) && isKtrdrError(error)) return
    throw error
  }
  const metadata = await storage.models.getItem<{ training_symbols?: string[]; training_timeframes?: string[]; base_timeframe?: string }>(
    `${key}/${MODEL_FILES.metadata}`,
  )
  if (!metadata || typeof metadata !== 'object')
    throw new KtrdrError({
      code: 'MODEL_NOT_FOUND',
      message: `No complete model at models/${key} (metadata.json missing): check the path or train again`,
      details: { field: input.model_path ? 'model_path' : 'strategy_name', model: key },
    })
  const base = metadata.base_timeframe
  if (input.timeframe && base && input.timeframe !== base)
    throw new KtrdrError({
      code: 'INPUT_INVALID',
      message: `timeframe ${input.timeframe} does not match the model's base timeframe ${base}: backtest on ${base}`,
      details: { field: 'timeframe' },
    })
  if (!symbols.length && metadata.training_symbols?.length) symbols.push(metadata.training_symbols[0])
  const timeframes = metadata.training_timeframes?.length ? metadata.training_timeframes : base ? [base] : []
  await requireData(storage.data, symbols, timeframes)
})

/** Dates that parse, start on or before end (a date-only end_date covers its day), named by field. */
function checkDates(input: Dated): void {
  for (const field of ['start_date', 'end_date'] as const) {
    const value = input[field]
    if (value !== undefined && Number.isNaN(parseDateInput(value)))
      throw new KtrdrError({
        code: 'DATA_INVALID_DATE',
        message: `${field} ${JSON.stringify(value)} is not a date: use YYYY-MM-DD or an ISO timestamp`,
        details: { field },
      })
  }
  try {
    resolveRange(input.start_date, input.end_date)
  } catch (error) {
    if (!isKtrdrError(error) || error.code !== 'DATA_INVALID_RANGE') throw error
    throw new KtrdrError({
      code: 'DATA_INVALID_RANGE',
      message: `start_date ${input.start_date} is after end_date ${input.end_date}: swap them`,
      details: { field: 'start_date' },
    })
  }
}

/** Every symbol × timeframe the run reads must be stored (the function would fail on the first missing one). */
async function requireData(data: Storage, symbols: readonly string[], timeframes: readonly string[]): Promise<void> {
  for (const symbol of symbols.map((s) => assertSymbol(s)))
    for (const timeframe of timeframes.map((t) => assertTimeframe(t)))
      if (!(await data.hasItem(datasetKey(symbol, timeframe)))) throw dataNotFound(symbol, timeframe)
}

function fsBase(storage: KtrdrStorage, mount: 'models'): string | undefined {
  const m = storage.options.mounts[mount]
  return m && m.driver === 'fs' && 'base' in m ? m.base : undefined
}
