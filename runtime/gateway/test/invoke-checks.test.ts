// defineInvokeCheck: a pack's gateway-side check of one function's input, run after the schema and
// before the operation exists. The runtime knows nothing of what it checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KtrdrError, type Operation } from '../../protocol/index.ts'
import { defineGatewayRoutes, defineInvokeCheck, type InvokeCheckContext } from '../index.ts'
import { startTestGateway, type TestGateway } from '../../../test/kit/index.ts'

const seen: Array<{ input: unknown; fn: InvokeCheckContext['function']; hasStorage: boolean }> = []

const checks = defineGatewayRoutes((_router, ctx) => {
  ctx.invokeChecks.add(
    defineInvokeCheck<{ message?: string }>('echo', async (input, { function: fn, storage }) => {
      seen.push({ input, fn, hasStorage: typeof storage.data.getItem === 'function' })
      if (input.message === 'refuse') throw new KtrdrError({ code: 'INPUT_INVALID', message: 'message may not be "refuse"' })
      if (input.message === 'crash') throw new TypeError('check bug')
      if (input.message === 'stored') return [`stored: ${await storage.data.getItem('probe.txt')}`]
    }),
  )
})

let g: TestGateway
beforeAll(async () => {
  g = await startTestGateway({ routes: [checks] })
  await g.gateway.services.storage.data.setItem('probe.txt', 'yes')
})
afterAll(async () => {
  await g?.close()
})

const invoke = (fn: string, input: Record<string, unknown>) =>
  g.api<Operation & { code?: string; message?: string; warnings?: string[] }>(`/api/v1/functions/${fn}/invoke`, { body: { input } })
const total = async () => (await g.api<{ total_count: number }>('/api/v1/operations')).body.total_count

describe('invoke checks', () => {
  it('a KtrdrError refuses the invocation with its status; nothing is created', async () => {
    const r = await invoke('echo', { message: 'refuse' })
    expect(r.status).toBe(422)
    expect(r.body).toMatchObject({ code: 'INPUT_INVALID', message: 'message may not be "refuse"' })
    expect(await total()).toBe(0)
    expect(seen.at(-1)).toMatchObject({ input: { message: 'refuse' }, fn: { name: 'echo', version: 1 }, hasStorage: true })
  })

  it('the schema comes first: a check never sees input the manifest refuses', async () => {
    const before = seen.length
    expect((await invoke('echo', { message: 'refuse', extra: 1 })).status).toBe(422)
    expect(seen.length).toBe(before)
  })

  it("returned strings travel with the 202 as warnings; the gateway's storage is readable", async () => {
    const r = await invoke('echo', { message: 'stored' })
    expect(r.status).toBe(202)
    expect(r.body.warnings).toContain('stored: yes')
  })

  it('a check that breaks does not block the work: 202 with a warning saying so', async () => {
    const r = await invoke('echo', { message: 'crash' })
    expect(r.status).toBe(202)
    expect(r.body.warnings?.join(' ')).toMatch(/could not check this input for echo \(check bug\); the host will/)
  })

  it('an in-process caller that admitted the input itself skips them ({ checks: false }); the schema still applies', async () => {
    const before = seen.length
    const invoker = g.gateway.services.invoke
    const r = await invoker('echo', { input: { message: 'refuse' } }, { checks: false })
    expect(r.statusCode).toBe(202)
    expect(r.operation).toMatchObject({ status: 'pending', input: { message: 'refuse' } })
    expect(seen.length).toBe(before)
    await expect(invoker('echo', { input: { message: 'refuse', extra: 1 } }, { checks: false })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    })
    // Without the option the same input is refused, as over HTTP.
    await expect(invoker('echo', { input: { message: 'refuse' } })).rejects.toMatchObject({ code: 'INPUT_INVALID' })
    expect(seen.length).toBe(before + 1)
  })

  it('runs only for its function', async () => {
    const before = seen.length
    expect((await invoke('strict', { symbol: 'refuse' })).status).toBe(202)
    expect(seen.length).toBe(before)
  })
})
