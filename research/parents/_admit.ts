import type { GatewayRouteContext } from '../../runtime/gateway/index.ts'
import { isKtrdrError, KtrdrError, listDatasets, validateStrategy, type ResolvedStrategy } from '../../trading/index.ts'
import { badField } from './_body.ts'

// What a parent checks before it is accepted, with the field to name when it refuses.

const day = (iso: string) => iso.slice(0, 10)

/** The stored strategy (404 when missing, 422 when it does not validate), as text and resolved. */
export async function readStrategy(ctx: GatewayRouteContext, name: string): Promise<{ yaml: string; strategy: ResolvedStrategy }> {
  const raw = await ctx.storage.strategies.getItemRaw(`${name}.yaml`)
  if (raw == null)
    throw new KtrdrError({
      code: 'STRATEGY_NOT_FOUND',
      message: `strategy: "${name}" is not in the strategies mount: upload it first (ktrdr strategy upload)`,
      details: { field: 'strategy' },
    })
  const yaml = typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8')
  const v = validateStrategy(yaml)
  if (!v.strategy)
    throw new KtrdrError({
      code: 'STRATEGY_INVALID',
      message: `strategy: "${name}" does not validate: ${v.errors
        .slice(0, 3)
        .map((e) => `${e.path} ${e.message}`)
        .join('; ')}`,
      details: { field: 'strategy', errors: v.errors },
    })
  return { yaml, strategy: v.strategy }
}

/** The timeframe a parent runs on: the request's, which for a multi-timeframe strategy must be its base. */
export function resolveTimeframe(strategy: ResolvedStrategy, asked: string | undefined): string {
  const td = strategy.training_data
  const timeframe = asked ?? td.base_timeframe
  if (td.timeframes.length > 1 && timeframe !== td.base_timeframe)
    badField(
      'timeframe',
      `${strategy.name} reads ${td.timeframes.join(', ')} with ${td.base_timeframe} as its base: run it on ${td.base_timeframe}`,
    )
  return timeframe
}

/** The days every symbol has bars on (404 naming `field` when one has none). */
export async function commonDataDays(
  ctx: GatewayRouteContext,
  symbols: string[],
  timeframe: string,
  field: string,
): Promise<{ start: string; end: string }> {
  let start = ''
  let end = '9999-12-31'
  for (const symbol of symbols) {
    const [info] = await listDatasets(ctx.storage.data, { symbol, timeframe })
    if (!info?.start || !info.end)
      throw new KtrdrError({
        code: 'DATA_NOT_FOUND',
        message: `${field}: no ${symbol} ${timeframe} bars in the data mount: load or generate them first (ktrdr data generate / import, ib-fetch)`,
        details: { field, symbol, timeframe },
      })
    if (day(info.start) > start) start = day(info.start)
    if (day(info.end) < end) end = day(info.end)
  }
  return { start, end }
}

/** 422 naming a date outside the data. */
export function outsideData(field: string, message: string, data: { start: string; end: string }): never {
  throw new KtrdrError({ code: 'DATA_INSUFFICIENT', message: `${field}: ${message}`, details: { field, data } })
}

/** The slots of the registered hosts (at least 1): how many children can run at once right now. */
export function hostSlots(ctx: GatewayRouteContext): number {
  let slots = 0
  for (const w of ctx.workers.all()) if (!w.lost) slots += Math.max(0, Number(w.record.capabilities.slots) || 0)
  return Math.max(1, slots)
}

type ResolvedFunction = Awaited<ReturnType<GatewayRouteContext['functions']['resolve']>>

/**
 * A child's input checked against the deployed function's own schema before the parent is
 * accepted: a value the function would refuse is a 422 now, naming the request's field
 * (`fieldOf` maps `parameter_sets[1].confidence_threshold` to the field it came from).
 */
export function checkChildInput(ctx: GatewayRouteContext, fn: ResolvedFunction, input: unknown, fieldOf: (inputField: string) => string) {
  try {
    ctx.validateInput(fn.sha256, fn.manifest.input_schema, input, `${fn.name}@${fn.version}`)
  } catch (error) {
    if (!isKtrdrError(error) || error.code !== 'INPUT_INVALID') throw error
    const details = (error.details ?? {}) as { errors?: Array<{ field?: string }> }
    const inputField = details.errors?.[0]?.field?.replace(/^input\.?/, '')
    const field = inputField ? fieldOf(inputField) : null
    throw new KtrdrError({
      code: 'INPUT_INVALID',
      message: field ? `${field}: ${error.message}` : error.message,
      details: { ...details, ...(field ? { field } : {}) },
    })
  }
}
