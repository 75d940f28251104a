import { KtrdrError } from '../../../trading/index.ts'

/**
 * How the fetch loop reacts to an IB message:
 * pacing → report to the shared gate, back off, retry; no_data → empty segment;
 * fatal → fail the operation (retrying cannot help); connectivity → wait for 1101/1102 and
 * retry; disconnected → reconnect and retry; transient → bounded retries, then skip the segment.
 */
export type IbErrorKind = 'pacing' | 'no_data' | 'fatal' | 'connectivity' | 'disconnected' | 'transient'

/** Codes that mean the account or contract can never serve this request. */
const FATAL_CODES = new Set([200, 203, 320, 321, 322, 354, 10089, 10090, 10167, 10168, 10186, 10187, 10189, 10285])

export function classifyIbError(code: number, message: string): IbErrorKind {
  if (code === 162) {
    if (/pacing violation/i.test(message)) return 'pacing'
    if (/returned no data|no data|data is not available/i.test(message)) return 'no_data'
    if (/permission|not subscribed|not allowed/i.test(message)) return 'fatal'
    return 'transient'
  }
  if (code === 420 && /pacing/i.test(message)) return 'pacing'
  if (FATAL_CODES.has(code)) return 'fatal'
  if (code === 1100 || code === 2110) return 'connectivity'
  if (code === 502 || code === 504 || code === 1300) return 'disconnected'
  return 'transient'
}

/** The catalogued code of each kind (trading/error-codes.ts says which are retryable). */
const CODE_OF_KIND = {
  pacing: 'IB_PACING',
  no_data: 'IB_NO_DATA',
  fatal: 'IB_REQUEST_REJECTED',
  connectivity: 'IB_CONNECTIVITY',
  disconnected: 'IB_DISCONNECTED',
  transient: 'IB_TRANSIENT',
} as const satisfies Record<IbErrorKind, string>

export class IbRequestError extends KtrdrError {
  readonly kind: IbErrorKind
  readonly ibCode: number
  constructor(kind: IbErrorKind, ibCode: number, message: string) {
    super({
      code: CODE_OF_KIND[kind],
      message: kind === 'fatal' ? `IB rejected the request (error ${ibCode}): ${message}` : `IB error ${ibCode}: ${message}`,
      details: { ib_code: ibCode, kind },
    })
    this.kind = kind
    this.ibCode = ibCode
  }
}
