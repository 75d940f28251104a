// `ktrdr invoke` says what the gateway warned about, and `--wait --timeout` gives up waiting
// instead of following an operation no host can run for ever.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation } from '../../protocol/index.ts'
import { ktrdr as run, startTestGateway, type KtrdrRun, type TestGateway } from '../../../test/kit/index.ts'

let g: TestGateway

beforeAll(async () => {
  // No host registers: every operation waits in the queue.
  g = await startTestGateway()
})
afterAll(async () => {
  await g?.close()
})

async function ktrdr(args: string[]): Promise<KtrdrRun & { ms: number }> {
  const started = Date.now()
  const r = await run(args, { url: g.url })
  return { ...r, ms: Date.now() - started }
}

describe('ktrdr invoke', () => {
  it("prints the gateway's warnings on stderr, the operation on stdout", async () => {
    const r = await ktrdr(['invoke', 'needs-gpu', '--input', '{"message":"hi"}'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/^warning: No registered host can run needs-gpu yet \(needs gpu\)/m)
    expect(r.stdout).toMatch(/^op_needs_gpu_\S+ pending \(follow it: ktrdr ops watch /)
  })

  it('--wait --timeout stops waiting, exits 124 and leaves the operation queued', async () => {
    const r = await ktrdr(['invoke', 'echo', '--wait', '--timeout', '2'])
    expect(r.code, r.stderr).toBe(124)
    const id = /^(op_\S+) still pending after 2 s; it stays in the cluster/m.exec(r.stderr)?.[1]
    expect(id, r.stderr).toBeTruthy()
    expect(r.stderr).toMatch(/warning: No registered host can run echo yet/)
    // Measured from process start, so CLI start-up is in it too; generous for a loaded machine.
    expect(r.ms).toBeGreaterThanOrEqual(2000)
    expect(r.ms).toBeLessThan(30_000)
    expect((await g.api<Operation>(`/api/v1/operations/${id}`)).body.status).toBe('pending')
  })

  it('refuses a --timeout that is not a positive number, or without --wait (a usage error: exit 2)', async () => {
    const bad = await ktrdr(['invoke', 'echo', '--wait', '--timeout', 'soon'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--timeout must be a number of seconds above 0, got soon/)
    const alone = await ktrdr(['invoke', 'echo', '--timeout', '5'])
    expect(alone.code).toBe(2)
    expect(alone.stderr).toMatch(/--timeout applies to --wait/)
  })
})
