// How a followed operation's progress is shown: one updating line with an ETA on a terminal, plain
// lines off one; `ops watch` ends with the result on stdout, the progress on stderr.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Operation } from '../../protocol/index.ts'
import { createProgressDisplay, formatEta } from '../_progress.ts'
import { ANSI, ktrdr as run, startFakeHost, startTestGateway, type TestGateway } from '../../../test/kit/index.ts'

// A user's shell (test/kit userEnv): what a pipe receives without vitest's environment.
const ktrdr = (args: string[]) => run(args, { shell: 'user' })

const op = (pct: number, step: string | null, status: Operation['status'] = 'running') =>
  ({ operation_id: 'op_x', status, progress: { percentage: pct, current_step: step } }) as Operation

function stream(isTTY: boolean) {
  const written: string[] = []
  return { written, isTTY, columns: 80, write: (text: string) => void written.push(text) }
}

describe('progress display', () => {
  it('on a terminal: one line rewritten in place, with an ETA from the rate so far', () => {
    const out = stream(true)
    let now = 0
    const p = createProgressDisplay(out, () => now)
    p.update(op(10, 'Epoch 1/10'))
    now = 30_000
    p.update(op(40, 'Epoch 4/10'))
    p.done()
    expect(out.written[0]).toBe('\r\u001B[2Kop_x running 10% Epoch 1/10')
    // 30 % in 30 s: 60 % left take 60 s.
    expect(out.written[1]).toBe('\r\u001B[2Kop_x running 40% Epoch 4/10, ETA 1 min 00 s')
    expect(out.written.at(-1)).toBe('\n')
  })

  it('off a terminal: a plain line per change, no escapes, no repeats', () => {
    const out = stream(false)
    const p = createProgressDisplay(out, () => 0)
    for (const o of [op(0, null, 'pending'), op(10, 'a'), op(10, 'a'), op(50, 'b'), op(100, 'Done', 'completed')]) p.update(o)
    p.done()
    expect(out.written).toEqual(['op_x pending 0%\n', 'op_x running 10% a\n', 'op_x running 50% b\n', 'op_x completed 100% Done\n'])
    expect(out.written.join('')).not.toContain(ANSI)
  })

  it('formats an ETA in seconds, minutes or hours', () => {
    expect([formatEta(42_400), formatEta(184_000), formatEta(3_900_000)]).toEqual(['42 s', '3 min 04 s', '1 h 05 min'])
  })
})

describe('ktrdr ops watch', () => {
  let gw: TestGateway
  let close: () => Promise<unknown>
  beforeAll(async () => {
    gw = await startTestGateway()
    const host = await startFakeHost({ gatewayUrl: gw.url, workerId: 'watch-host' })
    close = () => host.close()
  })
  afterAll(async () => {
    await close?.()
    await gw?.close()
  })

  it('prints the progress on stderr and, once completed, the result on stdout', async () => {
    const started = (
      await gw.api<Operation>('/api/v1/functions/echo/invoke', { body: { input: { message: 'hi', steps: 2, delay_ms: 300 } } })
    ).body
    const r = await ktrdr(['ops', 'watch', started.operation_id, '--url', gw.url])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ echo: { message: 'hi', steps: 2, delay_ms: 300 }, worker_id: 'watch-host' })
    expect(r.stderr).toContain(`${started.operation_id} completed 100%`)
    expect(r.stderr).not.toContain(ANSI)
  })
})
