import { errorCodeEntry } from './error-codes.ts'
import type { OperationErrorInfo } from './worker.ts'

/** What a KtrdrError is made of: its status and retryability come from the code's catalog entry. */
export interface KtrdrErrorInput {
  /** A catalogued code (runtime/protocol/error-codes.ts, or a pack's table), e.g. `STRATEGY_INVALID`. */
  code: string
  message: string
  cause?: unknown
  details?: unknown
}

/** Status and retryability as another process stated them, for codes this process has no entry for. */
export interface RelayedStatus {
  statusCode: number
  retryable: boolean
}

/**
 * The one error type every layer throws. h3 reads `statusCode`/`statusMessage`/`data`, so a
 * KtrdrError thrown inside a route becomes a JSON error response without translation (the
 * gateway's `sendGatewayError` writes `toJSON()`); on an operation it is stored through `toErrorInfo`.
 * Status and retryability are the catalog's: a code means the same everywhere.
 */
export class KtrdrError extends Error {
  override name = 'KtrdrError'
  readonly statusCode: number
  readonly code: string
  readonly retryable: boolean
  readonly details: unknown

  /**
   * `relayed` is only for an error that crossed a process boundary (an HTTP answer, an executor
   * message): it applies when the code is not in this process's catalog. An uncatalogued code
   * without it is a 500 (the catalog test keeps literal codes catalogued).
   */
  constructor(input: KtrdrErrorInput, relayed?: RelayedStatus) {
    super(input.message, input.cause === undefined ? undefined : { cause: input.cause })
    const entry = errorCodeEntry(input.code)
    this.code = input.code
    this.statusCode = entry?.status ?? relayed?.statusCode ?? 500
    this.retryable = entry?.retryable ?? relayed?.retryable ?? this.statusCode >= 500
    this.details = input.details
  }

  /** h3 v1 uses these when serialising a thrown error. */
  get statusMessage(): string {
    return this.code
  }
  get data(): unknown {
    return { code: this.code, retryable: this.retryable, details: this.details }
  }

  toJSON() {
    return { message: this.message, code: this.code, statusCode: this.statusCode, retryable: this.retryable, details: this.details }
  }
}

/** `new KtrdrError({code, message, details})` in one call; `cause` rides in options. */
export function createKtrdrError(code: string, message: string, details?: unknown, options: { cause?: unknown } = {}): KtrdrError {
  return new KtrdrError({ code, message, details, cause: options.cause })
}

export function isKtrdrError(error: unknown): error is KtrdrError {
  return error instanceof KtrdrError || (typeof error === 'object' && error !== null && (error as { name?: string }).name === 'KtrdrError')
}

/**
 * The one serializer of errors onto operations (executor → host → gateway): a KtrdrError keeps its
 * code; anything else thrown becomes `fallback` (FUNCTION_ERROR inside function code) with the
 * thrown message, and the name or system code of what was thrown in `details`.
 */
export function toErrorInfo(error: unknown, fallback = 'INTERNAL_ERROR'): OperationErrorInfo {
  if (isKtrdrError(error)) return info(error.code, error.message, error.retryable, error.details)
  const entry = errorCodeEntry(fallback)
  const retryable = entry?.retryable ?? true
  if (!(error instanceof Error)) return info(fallback, String(error), retryable, undefined)
  const { name, code } = error as Error & { code?: unknown }
  const details = {
    ...(name && name !== 'Error' ? { name } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { error_code: code } : {}),
  }
  return info(fallback, error.message, retryable, Object.keys(details).length ? details : undefined)
}

/** An operation's error for a catalogued code, built where no exception was thrown (a host lost, a crash seen). */
export function errorInfo(code: string, message: string, details?: unknown): OperationErrorInfo {
  return toErrorInfo(new KtrdrError({ code, message, details }))
}

function info(code: string, message: string, retryable: boolean, details: unknown): OperationErrorInfo {
  return details === undefined ? { message, code, retryable } : { message, code, retryable, details }
}
