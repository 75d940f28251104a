import type { NitroErrorHandler } from 'nitropack/types'
import { sendGatewayError } from '../_http.ts'

/** Same error shape under Nitro as from `ktrdr gateway`: {statusCode, code, message, retryable, details}. */
const handler: NitroErrorHandler = (error, event) => {
  sendGatewayError(error, event)
}
export default handler
