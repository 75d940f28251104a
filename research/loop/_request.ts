import { LLM_SEED_MAX, STRATEGY_NAME_RE, randomLlmSeed } from '../../trading/index.ts'
import { badField } from '../parents/_body.ts'
import { day } from '../parents/_request.ts'
import type { ResolvedResearchOptions } from './options.ts'
import type { ResearchRequest } from './_types.ts'

const MODEL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const KNOWN = ['brief', 'strategy', 'model', 'seed', 'bypass_gates', 'constraints', 'training', 'backtest']

/** A calendar day, as the sweeps and walk-forwards take it: `2021-02-30` is refused, not read as March 2. */
function date(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null
  const parsed = typeof value === 'string' ? day.safeParse(value) : null
  if (!parsed?.success) badField(field, `${parsed?.error.issues[0]?.message ?? 'must be a date YYYY-MM-DD'}, got ${JSON.stringify(value)}`)
  return parsed.data
}

function object(value: unknown, field: string, keys: string[]): Record<string, unknown> | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'object' || Array.isArray(value)) badField(field, 'must be an object')
  for (const key of Object.keys(value))
    if (!keys.includes(key)) badField(`${field}.${key}`, `is not a known field (known: ${keys.join(', ')})`)
  return value as Record<string, unknown>
}

/**
 * The body of POST /api/v1/research and POST /api/v1/agent/trigger: every refusal is a 400 naming
 * the field. Whether a named strategy or model exists is checked by the caller (it needs storage).
 */
export function parseResearchRequest(body: unknown, options: ResolvedResearchOptions): ResearchRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) badField('body', 'must be a JSON object')
  const b = body as Record<string, unknown>
  for (const key of Object.keys(b)) if (!KNOWN.includes(key)) badField(key, `is not a known field (known: ${KNOWN.join(', ')})`)
  const hasBrief = b.brief !== undefined && b.brief !== null
  const hasStrategy = b.strategy !== undefined && b.strategy !== null
  if (hasBrief && hasStrategy)
    badField('brief', 'brief and strategy are exclusive: a brief is designed into a strategy, a strategy skips design')
  if (!hasBrief && !hasStrategy) badField('brief', 'give a brief (what to research) or a strategy (an existing one, design skipped)')
  let brief: string | null = null
  if (hasBrief) {
    if (typeof b.brief !== 'string') badField('brief', 'must be a string')
    brief = b.brief.trim()
    if (!brief) badField('brief', 'must not be empty')
    if (brief.length > 4000) badField('brief', `is ${brief.length} characters; at most 4000`)
  }
  if (hasStrategy && (typeof b.strategy !== 'string' || !STRATEGY_NAME_RE.test(b.strategy)))
    badField('strategy', 'must be a strategy name (letters, digits, "_", ".", "-"; at most 100)')
  if (b.model !== undefined && (typeof b.model !== 'string' || !MODEL_RE.test(b.model)))
    badField('model', 'must be a model name (letters, digits, ".", "_", "-")')
  if (b.seed !== undefined && (!Number.isInteger(b.seed) || (b.seed as number) < 0 || (b.seed as number) > LLM_SEED_MAX))
    badField('seed', `must be an integer between 0 and ${LLM_SEED_MAX}, got ${JSON.stringify(b.seed)}`)
  if (b.bypass_gates !== undefined && typeof b.bypass_gates !== 'boolean') badField('bypass_gates', 'must be true or false')
  const constraints = object(b.constraints, 'constraints', [
    'symbols',
    'timeframes',
    'indicators',
    'max_indicators',
    'max_features',
    'model_type',
  ])
  if (constraints && hasStrategy) badField('constraints', 'apply to design only: drop them, or give a brief instead of a strategy')
  const training = object(b.training, 'training', ['start_date', 'end_date', 'epochs']) ?? {}
  const backtest = object(b.backtest, 'backtest', ['start_date', 'end_date']) ?? {}
  const epochs = training.epochs ?? options.epochs
  if (!Number.isInteger(epochs) || (epochs as number) < 1 || (epochs as number) > 10_000)
    badField('training.epochs', 'must be an integer between 1 and 10000')
  const request: ResearchRequest = {
    brief,
    strategy: hasStrategy ? (b.strategy as string) : null,
    model: (b.model as string | undefined) ?? null,
    seed: (b.seed as number | undefined) ?? randomLlmSeed(),
    bypass_gates: (b.bypass_gates as boolean | undefined) ?? false,
    constraints,
    training: {
      start_date: date(training.start_date, 'training.start_date'),
      end_date: date(training.end_date, 'training.end_date'),
      epochs: epochs as number,
    },
    backtest: { start_date: date(backtest.start_date, 'backtest.start_date'), end_date: date(backtest.end_date, 'backtest.end_date') },
  }
  const { training: t, backtest: bt } = request
  if (t.start_date && t.end_date && t.start_date > t.end_date) badField('training.end_date', 'is before training.start_date')
  if (bt.start_date && bt.end_date && bt.start_date > bt.end_date) badField('backtest.end_date', 'is before backtest.start_date')
  if (t.end_date && bt.start_date && bt.start_date <= t.end_date)
    badField(
      'backtest.start_date',
      `must be after training.end_date (${t.end_date}): the backtest is held out of training`,
      'BACKTEST_IN_SAMPLE',
    )
  return request
}
