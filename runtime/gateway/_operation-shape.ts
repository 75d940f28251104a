import { randomFillSync } from 'node:crypto'
import type { Operation, OperationErrorInfo, OperationProgress } from '../protocol/index.ts'
import { TERMINAL_STATUSES } from '../protocol/index.ts'

const pad = (n: number) => String(n).padStart(2, '0')

// The suffixes of one second count up from a random start, drawn afresh each second (and when
// the store refuses an id another process drew). 32 random bits per id repeated within a second
// at the rates a gateway accepts (~0.6 % at 7,000 ids, birthday bound: a 500 from the primary key
// in a burst bench), and they scattered each commit's rows over the primary key's B-tree: a group
// of 16 rows dirtied up to 16 of its pages. Counting up appends them to one page: inserting 40,000
// rows in groups of 16 (better-sqlite3, WAL, synchronous=NORMAL, this table and its indexes) took
// 49.4-52.4 µs of CPU per row with random suffixes, 26.9-27.4 counting up (three alternating runs).
// The id is not a secret: every route that takes one needs the API token.
const start = new Uint32Array(1)
let usedStamp = ''
let next = 0

/** `op_<type>_<YYYYMMDD_HHMMSS UTC>_<8 hex>` as in docs/domain.md#types-ids-and-statuses. */
export function createOperationId(type: string, at = new Date(), { redraw = false }: { redraw?: boolean } = {}): string {
  const stamp = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}_${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`
  if (stamp !== usedStamp || redraw) {
    usedStamp = stamp
    next = randomFillSync(start)[0]!
  }
  const suffix = next.toString(16).padStart(8, '0')
  next = (next + 1) >>> 0
  return `op_${type.replace(/[^a-zA-Z0-9]+/g, '_')}_${stamp}_${suffix}`
}

/** The store refused an operation because its id is taken (SQLite's and PostgreSQL's primary-key messages). */
export function isOperationIdTaken(error: unknown): boolean {
  const message = String((error as Error)?.message ?? error)
  return message.includes('operations.operation_id') || message.includes('"operations_pkey"')
}

export const isTerminal = (op: Operation) => TERMINAL_STATUSES.includes(op.status)

/** Hosts are trusted but not blindly: a malformed progress update cannot break readers of the operation. */
export function normalizeProgress(input: unknown, previous: OperationProgress): OperationProgress {
  const p = (input && typeof input === 'object' ? input : {}) as Partial<OperationProgress>
  const pct = Number(p.percentage)
  return {
    percentage: Number.isFinite(pct) ? Math.min(100, Math.max(0, pct)) : previous.percentage,
    current_step:
      typeof p.current_step === 'string' ? p.current_step.slice(0, 500) : p.current_step === null ? null : previous.current_step,
    context: p.context && typeof p.context === 'object' && !Array.isArray(p.context) ? p.context : {},
  }
}

export function normalizeError(input: unknown): OperationErrorInfo {
  const e = (input && typeof input === 'object' ? input : { message: input }) as Partial<OperationErrorInfo>
  return { ...e, message: typeof e.message === 'string' && e.message ? e.message : 'The function failed without a message' }
}

export type OperationChange = 'updated' | 'requeued' | 'finished'

export const emptyProgress = (): OperationProgress => ({ percentage: 0, current_step: null, context: {} })
