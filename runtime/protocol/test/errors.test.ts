// KtrdrError reads status and retryability from the catalog; the serializer turns anything thrown
// into {code, message, retryable, details}; packs add codes but cannot redefine one.
import { describe, expect, it } from 'vitest'
import {
  ERROR_CODES,
  KtrdrError,
  createKtrdrError,
  defineErrorCodes,
  errorCodeEntry,
  errorInfo,
  registerErrorCodes,
  toErrorInfo,
} from '../index.ts'

describe('KtrdrError', () => {
  it('takes status and retryability from the code', () => {
    const e = new KtrdrError({ code: 'UNAUTHORIZED', message: 'no token' })
    expect(e).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED', retryable: false, message: 'no token' })
    expect(e.toJSON()).toEqual({ message: 'no token', code: 'UNAUTHORIZED', statusCode: 401, retryable: false, details: undefined })
    expect(createKtrdrError('NO_CAPACITY', 'full', { slots: 0 })).toMatchObject({ statusCode: 503, retryable: true, details: { slots: 0 } })
    const cause = new Error('disk')
    expect(createKtrdrError('STORAGE_FULL', 'no space', undefined, { cause }).cause).toBe(cause)
  })

  it('a code means the same wherever it is raised (the two former FUNCTION_TIMEOUTs)', () => {
    expect(errorInfo('FUNCTION_TIMEOUT', 'the host stopped it')).toEqual({
      message: 'the host stopped it',
      code: 'FUNCTION_TIMEOUT',
      retryable: false,
    })
    expect(errorInfo('FUNCTION_TIMEOUT', 'the gateway gave up on it').retryable).toBe(false)
    expect(errorInfo('HOST_LOST', 'gone', { worker_id: 'w' })).toEqual({
      message: 'gone',
      code: 'HOST_LOST',
      retryable: true,
      details: { worker_id: 'w' },
    })
  })

  it('an uncatalogued code is a 500 unless relayed from another process; the catalog wins over a relay', () => {
    expect(new KtrdrError({ code: 'SOMETHING_ELSE', message: 'x' })).toMatchObject({ statusCode: 500, retryable: true })
    expect(new KtrdrError({ code: 'SOMETHING_ELSE', message: 'x' }, { statusCode: 409, retryable: false })).toMatchObject({
      statusCode: 409,
      retryable: false,
    })
    expect(new KtrdrError({ code: 'STORAGE_SCOPE_DENIED', message: 'x' }, { statusCode: 500, retryable: true })).toMatchObject({
      statusCode: 403,
      retryable: false,
    })
  })
})

describe('toErrorInfo', () => {
  it('keeps a KtrdrError as it is', () => {
    const e = createKtrdrError('INPUT_INVALID', 'steps must be ≥ 0', { field: 'steps' })
    expect(toErrorInfo(e, 'FUNCTION_ERROR')).toEqual({
      message: 'steps must be ≥ 0',
      code: 'INPUT_INVALID',
      retryable: false,
      details: { field: 'steps' },
    })
  })

  it('codes anything else thrown with the fallback, keeping its message, name and system code', () => {
    expect(toErrorInfo(new Error('boom'), 'FUNCTION_ERROR')).toEqual({ message: 'boom', code: 'FUNCTION_ERROR', retryable: true })
    expect(toErrorInfo(new TypeError('x is undefined'), 'FUNCTION_ERROR')).toEqual({
      message: 'x is undefined',
      code: 'FUNCTION_ERROR',
      retryable: true,
      details: { name: 'TypeError' },
    })
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
    expect(toErrorInfo(reset, 'FUNCTION_ERROR')).toMatchObject({ code: 'FUNCTION_ERROR', details: { error_code: 'ECONNRESET' } })
    expect(toErrorInfo('a string')).toEqual({ message: 'a string', code: 'INTERNAL_ERROR', retryable: true })
  })
})

describe('registerErrorCodes', () => {
  const entry = { status: 422, retryable: false, description: 'A test pack refuses this input.' }

  it('adds a pack table; registering the same table again is a no-op', () => {
    const table = defineErrorCodes({ TEST_PACK_REFUSED: entry })
    registerErrorCodes('test-pack', table)
    registerErrorCodes('test-pack', table)
    expect(errorCodeEntry('TEST_PACK_REFUSED')).toBe(entry)
    expect(createKtrdrError('TEST_PACK_REFUSED', 'no')).toMatchObject({ statusCode: 422, retryable: false })
  })

  it('refuses a code the runtime or another pack already defines, and registers nothing of that table', () => {
    expect(() => registerErrorCodes('other', { TEST_OTHER: entry, UNAUTHORIZED: { ...ERROR_CODES.UNAUTHORIZED } })).toThrow(
      /UNAUTHORIZED of other is already defined by runtime/,
    )
    expect(errorCodeEntry('TEST_OTHER')).toBeUndefined()
    expect(errorCodeEntry('UNAUTHORIZED')).toBe(ERROR_CODES.UNAUTHORIZED)
  })

  it('checks the shape of a table', () => {
    expect(() => defineErrorCodes({ lower_case: entry })).toThrow(/UPPER_SNAKE_CASE/)
    expect(() => defineErrorCodes({ OK_CODE: { ...entry, status: 200 } })).toThrow(/400-599/)
  })
})
