/** What a KtrdrError is made of; `statusCode` defaults to 500 and `code` follows from it. */
export interface KtrdrErrorInput {
  message: string
  statusCode?: number
  /** Stable machine-readable code, e.g. `STRATEGY_INVALID`, `DATA_NOT_FOUND`. */
  code?: string
  /** false marks errors that must not be retried (bad input, missing data). Default: statusCode >= 500. */
  retryable?: boolean
  cause?: unknown
  details?: unknown
}

/**
 * The one error type every layer throws. h3 reads `statusCode`/`statusMessage`/`data`, so a
 * KtrdrError thrown inside a route becomes a JSON error response without translation (the
 * gateway's `sendGatewayError` writes `toJSON()`); on an operation it is stored through `toErrorInfo`.
 */
export class KtrdrError extends Error {
  override name = 'KtrdrError'
  readonly statusCode: number
  readonly code: string
  readonly retryable: boolean
  readonly details: unknown

  constructor(input: KtrdrErrorInput) {
    super(input.message, input.cause === undefined ? undefined : { cause: input.cause })
    this.statusCode = input.statusCode ?? 500
    this.code = input.code ?? (this.statusCode >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST')
    this.retryable = input.retryable ?? this.statusCode >= 500
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

export function createKtrdrError(input: KtrdrErrorInput): KtrdrError {
  return new KtrdrError(input)
}

export function isKtrdrError(error: unknown): error is KtrdrError {
  return error instanceof KtrdrError || (typeof error === 'object' && error !== null && (error as { name?: string }).name === 'KtrdrError')
}

/** Turns anything thrown into the serialisable form stored on an operation. */
export function toErrorInfo(error: unknown): { message: string; code?: string; retryable?: boolean; details?: unknown } {
  if (isKtrdrError(error)) return { message: error.message, code: error.code, retryable: error.retryable, details: error.details }
  if (error instanceof Error) return { message: error.message, code: (error as { code?: string }).code, retryable: true }
  return { message: String(error), retryable: true }
}
