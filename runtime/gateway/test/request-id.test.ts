// X-Request-Id in and out on every answer (errors included), in the gateway's log lines, and the
// JSON log format (KTRDR_LOG_FORMAT=json) those lines take for journald/Loki.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createConsola, type LogObject } from 'consola'
import { afterEach, describe, expect, it } from 'vitest'
import { createJsonReporter, resolveLogFormat } from '../../protocol/index.ts'
import { createGateway } from '../index.ts'
import { resolveGatewayOptions } from '../_options.ts'
import { createFakeRegistry } from './_fakes.ts'
import { DEFAULT_MANIFESTS } from '../../../test/kit/index.ts'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

async function gatewayWithLog(config: Parameters<typeof createGateway>[0] = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ktrdr-reqid-'))
  const logged: LogObject[] = []
  const logger = createConsola({ level: 4, reporters: [{ log: (e) => logged.push(e) }] })
  const gateway = await createGateway(
    { port: 0, dbPath: join(dir, 'gateway.db'), storage: { root: join(dir, 'store') }, apiToken: null, clusterToken: null, ...config },
    { logger, functions: createFakeRegistry(DEFAULT_MANIFESTS) },
  )
  cleanups.push(async () => {
    await gateway.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return { gateway, logged }
}

describe('x-request-id', () => {
  it('keeps a sane id, replaces anything else with a UUID, on answers and errors alike', async () => {
    const { gateway } = await gatewayWithLog({ apiToken: 'api-t' })
    const call = async (path: string, id?: string, token = 'api-t') =>
      (
        await fetch(`${gateway.url}${path}`, {
          headers: { ...(id === undefined ? {} : { 'x-request-id': id }), authorization: `Bearer ${token}` },
        })
      ).headers.get('x-request-id')
    expect(await call('/health', 'trace-4bf92f3577b34da6a3ce929d0e0e4736')).toBe('trace-4bf92f3577b34da6a3ce929d0e0e4736')
    expect(await call('/api/v1/workers', 'abc.DEF_1:2/3+4=5@6')).toBe('abc.DEF_1:2/3+4=5@6')
    expect(await call('/health')).toMatch(UUID)
    for (const insane of ['has space', 'x'.repeat(129), 'quote"d', ''])
      expect(await call('/health', insane), JSON.stringify(insane)).toMatch(UUID)
    // 401, 404 and the path rule's 400 carry one too.
    expect(await call('/api/v1/workers', 'on-401', 'wrong')).toBe('on-401')
    expect(await call('/api/v1/nothing-here', 'on-404')).toBe('on-404')
    expect(await call('/api/v1//workers', 'on-400')).toBe('on-400')
  })

  it('appears in the access line each request gets at LOG_LEVEL=debug', async () => {
    const { gateway, logged } = await gatewayWithLog()
    await fetch(`${gateway.url}/api/v1/operations?limit=1`, { headers: { 'x-request-id': 'find-me-1' } })
    await fetch(`${gateway.url}/api/v1/operations/op_missing`, { headers: { 'x-request-id': 'find-me-2' } })
    const lines = logged.filter((e) => e.type === 'debug' && (e as LogObject & { request_id?: string }).request_id?.startsWith('find-me'))
    expect(lines.map((e) => [(e as any).request_id, (e as any).method, (e as any).path, (e as any).status])).toEqual([
      ['find-me-1', 'GET', '/api/v1/operations', 200],
      ['find-me-2', 'GET', '/api/v1/operations/op_missing', 404],
    ])
    expect(String(lines[0]!.args[0])).toMatch(/^GET \/api\/v1\/operations 200 [\d.]+ ms \(request find-me-1\)$/)
  })
})

describe('log format', () => {
  it('KTRDR_LOG_FORMAT and LOG_LEVEL resolve, and refuse what they do not know', () => {
    expect(resolveGatewayOptions({}, {}).logFormat).toBe('text')
    expect(resolveGatewayOptions({}, { KTRDR_LOG_FORMAT: 'JSON', LOG_LEVEL: 'debug' })).toMatchObject({ logFormat: 'json', logLevel: 4 })
    expect(() => resolveLogFormat('xml')).toThrow(/KTRDR_LOG_FORMAT="xml" must be text or json/)
    expect(() => resolveGatewayOptions({}, { LOG_LEVEL: 'chatty' })).toThrow(/LOG_LEVEL="chatty"/)
  })

  it('writes one JSON object a line with time, level, tag, message, the fields beside it and an error stack', () => {
    const out: string[] = []
    const logger = createConsola({ level: 4, reporters: [createJsonReporter((l) => out.push(l))] }).withTag('gateway')
    logger.info({ message: 'GET /health 200', request_id: 'r-1', status: 200 })
    logger.error('dispatch failed:', new Error('boom'))
    logger.debug('multi\nline', { a: 1 })
    expect(out.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true)
    const [info, error, debug] = out.map((l) => JSON.parse(l))
    expect(info).toMatchObject({ level: 'info', tag: 'gateway', message: 'GET /health 200', request_id: 'r-1', status: 200 })
    expect(Number.isNaN(Date.parse(info.time))).toBe(false)
    expect(error).toMatchObject({ level: 'error', message: expect.stringContaining('dispatch failed: Error: boom') })
    expect(error.stack).toMatch(/^Error: boom\n/)
    expect(debug.message).toBe('multi\nline { a: 1 }')
  })
})
