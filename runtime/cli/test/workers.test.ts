// `ktrdr workers undrain`: the way back from `ktrdr workers drain` without restarting the host.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WorkerRecord } from '../../protocol/index.ts'
import { startFakeHost, startTestGateway, type TestGateway } from '../../../test/kit/index.ts'

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'ktrdr.mjs')
const run = promisify(execFile)
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
    const { stdout } = await run(process.execPath, [BIN, 'workers', 'undrain', 'bt-1', '--url', g.url], {
      env: { ...process.env, KTRDR_API_TOKEN: '' },
    })
    expect(stdout.trim()).toBe('bt-1 takes new work again (AVAILABLE)')
    expect((await g.api<WorkerRecord>('/api/v1/workers/bt-1')).body.metadata.draining).toBe(false)
  })
})
