import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createVirtualClock, systemClock } from '../src/clock.ts'
import { createPacingGate, DEFAULT_PACING } from '../src/pacing.ts'

const run = promisify(execFile)
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktrdr-pacing-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('shared pacing ledger', () => {
  it('keeps 200 requests within every IB limit on a virtual clock', async () => {
    const clock = createVirtualClock()
    const gate = createPacingGate({ path: join(dir, 'p.json'), clock })
    const granted: Array<{ t: number; c: string; r: string }> = []
    for (let i = 0; i < 200; i++) {
      // Two contracts, and every 10th request repeats the previous one (identical-request rule).
      const c = i % 2 ? 'EUR' : 'AAPL'
      const r = i % 10 === 9 ? granted[i - 1].r : `${c}-${i}`
      await gate.acquire({ contractKey: c, requestKey: r })
      granted.push({ t: clock.now(), c, r })
    }
    for (let i = 1; i < granted.length; i++) {
      expect(granted[i].t - granted[i - 1].t).toBeGreaterThanOrEqual(DEFAULT_PACING.minIntervalMs)
      const window = granted.filter((g) => g.t > granted[i].t - 600_000 && g.t <= granted[i].t)
      expect(window.length).toBeLessThanOrEqual(60)
      const twin = granted.slice(0, i).findLast((g) => g.r === granted[i].r)
      if (twin) expect(granted[i].t - twin.t).toBeGreaterThanOrEqual(15_000)
    }
    // 200 requests need at least 3 full 10-minute windows; the gate should not be much slower.
    const elapsed = granted.at(-1)!.t - granted[0].t
    expect(elapsed).toBeGreaterThanOrEqual(3 * 600_000)
    expect(elapsed).toBeLessThan(3 * 600_000 + 60 * 2000 + 15_000 * 20)
  })

  it('holds every process back after a reported pacing violation', async () => {
    const clock = createVirtualClock()
    const a = createPacingGate({ path: join(dir, 'p.json'), clock })
    const b = createPacingGate({ path: join(dir, 'p.json'), clock })
    await a.acquire({ contractKey: 'X', requestKey: '1' })
    const violationAt = clock.now()
    await a.reportViolation()
    await b.acquire({ contractKey: 'Y', requestKey: '2' })
    expect(clock.now() - violationAt).toBeGreaterThanOrEqual(DEFAULT_PACING.violationBackoffMs)
  })

  it('can be cancelled while waiting for a slot', async () => {
    const gate = createPacingGate({ path: join(dir, 'p.json'), clock: systemClock, limits: { minIntervalMs: 60_000 } })
    await gate.acquire({ contractKey: 'X', requestKey: '1' })
    const controller = new AbortController()
    const waiting = gate.acquire({ contractKey: 'X', requestKey: '2' }, controller.signal, () =>
      controller.abort(new Error('cancelled by test')),
    )
    await expect(waiting).rejects.toThrow('cancelled by test')
  })

  it('is shared by separate processes on the host', async () => {
    const path = join(dir, 'shared.json')
    const child = resolve(import.meta.dirname, 'fixtures/pacing-child.ts')
    const runTs = resolve(import.meta.dirname, '../../../bin/run-ts.mjs')
    const outs = await Promise.all(
      ['EUR', 'EUR', 'AAPL'].map((c) => run(process.execPath, [runTs, child, path, '6', c], { timeout: 60_000 })),
    )
    const all = outs
      .flatMap((o, i) => (JSON.parse(o.stdout) as number[]).map((t) => ({ t, c: i < 2 ? 'EUR' : 'AAPL' })))
      .sort((x, y) => x.t - y.t)
    expect(all).toHaveLength(18)
    for (let i = 1; i < all.length; i++) expect(all[i].t - all[i - 1].t).toBeGreaterThanOrEqual(40)
    for (const g of all) expect(all.filter((h) => h.t > g.t - 600 && h.t <= g.t).length).toBeLessThanOrEqual(8)
    for (const g of all) expect(all.filter((h) => h.c === g.c && h.t > g.t - 200 && h.t <= g.t).length).toBeLessThanOrEqual(3)
  })
})
