// The core library throws the same error type as the runtime so a route or a function
// invocation serialises it without translation. Importing KtrdrError from here (or from the
// trading entry) registers the domain's codes first, so a domain code gets its status and
// retryability from trading/error-codes.ts wherever it is thrown.
import { registerErrorCodes } from '../runtime/protocol/index.ts'
import { TRADING_ERROR_CODES } from './error-codes.ts'

registerErrorCodes('trading', TRADING_ERROR_CODES)

export { KtrdrError, createKtrdrError, isKtrdrError } from '../runtime/protocol/index.ts'
export { TRADING_ERROR_CODES }
