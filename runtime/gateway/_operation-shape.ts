import { randomFillSync } from 'node:crypto'
import type { Operation, OperationErrorInfo, OperationProgress } from '../protocol/index.ts'
import { TERMINAL_STATUSES } from '../protocol/index.ts'

const pad = (n: number) => String(n).padStart(2, '0')

// Random bytes for ids drawn from one buffer refilled 1,024 ids at a time: randomBytes(4) per id
// cost ~19 µs (one trip into OpenSSL each), 9% of the gateway's CPU per accepted invocation in a
// profile at 4,700 accepts/s (BENCHMARKS.md, Peers: durable accepts).
const entropy = Buffer.allocUnsafe(4096)
let drawn = entropy.length

function randomHex8(): string {
  if (drawn + 4 > entropy.length) {
    randomFillSync(entropy)
    drawn = 0
  }
  drawn += 4
  return entropy.toString('hex', drawn - 4, drawn)
}

// The suffixes drawn in the current second. 32 random bits a second are not enough at the rates a
// gateway accepts: at 7,000 ids in one second two are equal with probability ~0.6 % (birthday
// bound), and a burst bench hit it (a 500 from the primary key). Redrawing a suffix already used in
// that second makes ids unique within this process; the store's primary key still refuses one
// another process drew (operations.create draws again then).
let usedStamp = ''
const used = new Set<string>()

/** `op_<type>_<YYYYMMDD_HHMMSS UTC>_<8 hex>` as in docs/domain.md#types-ids-and-statuses. */
export function createOperationId(type: string, at = new Date()): string {
  const stamp = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}_${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`
  if (stamp !== usedStamp) {
    usedStamp = stamp
    used.clear()
  }
  let suffix = randomHex8()
  while (used.has(suffix)) suffix = randomHex8()
  used.add(suffix)
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
