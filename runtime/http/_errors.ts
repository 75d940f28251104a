import { createError, type H3Error } from 'h3'
import type { KtrdrError } from '../protocol/index.ts'

/**
 * A KtrdrError as the H3Error h3 answers with: our status, the code as status text (a HEAD answer
 * has no body, so clients read it there) and `{code, retryable, details}` as data. Also keeps h3
 * from logging a 4xx as an unhandled crash.
 */
export function toH3Error(error: KtrdrError): H3Error {
  return createError({
    statusCode: error.statusCode,
    statusMessage: error.code,
    message: error.message,
    data: { code: error.code, retryable: error.retryable, details: error.details },
  })
}
