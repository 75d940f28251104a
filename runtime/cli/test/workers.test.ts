// `ktrdr workers undrain`: the way back from `ktrdr workers drain` without restarting the host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WorkerRecord } from '../../protocol/index.ts'
import { ktrdr, startFakeHost, startTestGateway, type TestGateway } from '../../../test/kit/index.ts'

let g: TestGateway
let host: Awaited<ReturnType<typeof startFakeHost>>

beforeAll(async () => {
  g = await startTestGateway()
  host = await startFakeHost({ gatewayUrl: g.url, workerId: 'bt-1' })
})
afterAll(async () => {
  await host?.close()
  await g?.close()
})

describe('ktrdr workers undrain', () => {
  it('sends new work to a drained host again', async () => {
    await g.api('/api/v1/workers/bt-1/drain', { method: 'POST' })
    const { code, stdout, stderr } = await ktrdr(['workers', 'undrain', 'bt-1', '--url', g.url])
    expect(code, stderr).toBe(0)
    expect(stdout.trim()).toBe('bt-1 takes new work again (AVAILABLE)')
    expect((await g.api<WorkerRecord>('/api/v1/workers/bt-1')).body.metadata.draining).toBe(false)
  })
})
