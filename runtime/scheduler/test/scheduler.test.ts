import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPendingQueue, hostMatches, placeOperation, type HostView, type PlacementRequest } from '../index.ts'

function host(id: string, extra: Partial<HostView> = {}): HostView {
  return {
    id,
    workerType: 'general',
    schedulable: true,
    gpu: false,
    ib: false,
    llm: false,
    memoryGb: 8,
    labels: new Set(),
    slots: 1,
    running: 0,
    lastSelected: 0,
    warm: new Set(),
    ...extra,
  }
}
const req = (extra: Partial<PlacementRequest> = {}): PlacementRequest => ({ requires: {}, preferGpu: false, requireGpu: false, ...extra })

describe('placeOperation', () => {
  it('filters by worker type, gpu, ib, llm, memory and labels', () => {
    const hosts = [
      host('plain'),
      host('gpu', { gpu: true }),
      host('ib', { ib: true, workerType: 'data' }),
      host('big', { memoryGb: 64, labels: new Set(['ssd']) }),
    ]
    expect(placeOperation(hosts, req({ requires: { gpu: true } }))?.id).toBe('gpu')
    expect(placeOperation(hosts, req({ requires: { ib: true } }))?.id).toBe('ib')
    expect(placeOperation(hosts, req({ requires: { workerTypes: ['data'] } }))?.id).toBe('ib')
    expect(placeOperation(hosts, req({ requires: { minMemoryGb: 32 } }))?.id).toBe('big')
    expect(placeOperation(hosts, req({ requires: { labels: ['ssd'] } }))?.id).toBe('big')
    expect(placeOperation(hosts, req({ requires: { llm: true } }))).toBeUndefined()
  })

  it('skips unschedulable, full and excluded hosts', () => {
    const hosts = [host('down', { schedulable: false }), host('full', { running: 1 }), host('refused'), host('ok', { lastSelected: 5 })]
    expect(placeOperation(hosts, req(), new Set(['refused']))?.id).toBe('ok')
  })

  it('GPU first when preferred, CPU fallback; require_gpu never falls back', () => {
    const hosts = [host('cpu'), host('gpu', { gpu: true, lastSelected: 10 })]
    expect(placeOperation(hosts, req({ preferGpu: true }))?.id).toBe('gpu')
    expect(placeOperation(hosts, req())?.id).toBe('cpu')
    hosts[1].running = 1
    expect(placeOperation(hosts, req({ preferGpu: true }))?.id).toBe('cpu')
    expect(placeOperation(hosts, req({ requireGpu: true }))).toBeUndefined()
    expect(hostMatches(hosts[0], req({ requireGpu: true }))).toBe(false)
  })

  it('least loaded, then warm bundle, then least recently selected', () => {
    const hosts = [
      host('busy', { slots: 4, running: 2 }),
      host('idle-old', { slots: 4, lastSelected: 1 }),
      host('idle-new', { slots: 4, lastSelected: 2 }),
    ]
    expect(placeOperation(hosts, req())?.id).toBe('idle-old')
    hosts[2].warm = new Set(['abc'])
    expect(placeOperation(hosts, req({ sha256: 'abc' }))?.id).toBe('idle-new')
  })

  it('never picks an ineligible host and always finds one when one is eligible (property)', () => {
    const arb = fc.array(
      fc.record({
        gpu: fc.boolean(),
        ib: fc.boolean(),
        llm: fc.boolean(),
        slots: fc.integer({ min: 1, max: 4 }),
        running: fc.integer({ min: 0, max: 4 }),
        schedulable: fc.boolean(),
        lastSelected: fc.nat(100),
      }),
      { maxLength: 30 },
    )
    const needs = fc.record({ gpu: fc.boolean(), ib: fc.boolean(), llm: fc.boolean() })
    fc.assert(
      fc.property(arb, fc.boolean(), fc.boolean(), needs, (specs, preferGpu, requireGpu, requires) => {
        const hosts = specs.map((s, i) => host(`h${i}`, s))
        const r = req({ preferGpu, requireGpu, requires })
        // A function that needs a capability (gpu, llm for design/assess, ib for ib-fetch) lands only on hosts with it.
        const eligible = hosts.filter(
          (h) =>
            h.schedulable &&
            h.running < h.slots &&
            (!(requireGpu || requires.gpu) || h.gpu) &&
            (!requires.ib || h.ib) &&
            (!requires.llm || h.llm),
        )
        const chosen = placeOperation(hosts, r)
        if (eligible.length === 0) return chosen === undefined
        if (!chosen || !eligible.includes(chosen)) return false
        const load = (h: HostView) => h.running / h.slots
        // Scarce capabilities the job does not use: the fewer, the earlier a host is chosen.
        const spare = (h: HostView) =>
          Number(h.gpu && !(requires.gpu || requireGpu || preferGpu)) + Number(h.ib && !requires.ib) + Number(h.llm && !requires.llm)
        const tier = preferGpu && eligible.some((h) => h.gpu) ? eligible.filter((h) => h.gpu) : eligible
        const fewest = Math.min(...tier.map(spare))
        const pool = tier.filter((h) => spare(h) === fewest)
        return pool.includes(chosen) && pool.every((h) => load(h) >= load(chosen))
      }),
    )
  })

  it('a specialised host takes other work only when no plainer capable host has a free slot (property)', () => {
    // Any mix of hosts, then jobs placed one after another with random completions in between.
    const arb = fc.record({
      hosts: fc.array(fc.record({ gpu: fc.boolean(), ib: fc.boolean(), llm: fc.boolean(), slots: fc.integer({ min: 1, max: 3 }) }), {
        minLength: 1,
        maxLength: 8,
      }),
      steps: fc.array(fc.oneof(fc.constant('place' as const), fc.nat(20)), { maxLength: 60 }),
    })
    fc.assert(
      fc.property(arb, ({ hosts: specs, steps }) => {
        const hosts = specs.map((s, i) => host(`h${i}`, s))
        const running: HostView[] = []
        for (const step of steps) {
          if (step !== 'place') {
            const done = running.splice(step % Math.max(1, running.length), 1)[0]
            if (done) done.running--
            continue
          }
          const chosen = placeOperation(hosts, req())
          if (!chosen) continue
          const specialised = chosen.gpu || chosen.ib || chosen.llm
          if (specialised && hosts.some((h) => !h.gpu && !h.ib && !h.llm && h.running < h.slots)) return false
          chosen.running++
          running.push(chosen)
        }
        return true
      }),
    )
  })
})

describe("the deployment guide's topology", () => {
  // Two general workers, the GPU training host, and the IB host as the guide sets it up:
  // WORKER_TYPE=general, capability ib, one slot.
  const guide = () => [
    host('ktrdr-worker-1', { slots: 2 }),
    host('ktrdr-worker-2', { slots: 2 }),
    host('training-host-1', { workerType: 'training', gpu: true, slots: 1 }),
    host('ib-host-1', { ib: true, slots: 1 }),
  ]
  const backtest = req({ requires: { workerTypes: ['backtesting', 'general'] } })
  const ibFetch = req({ requires: { ib: true } })

  it('11 backtests leave the IB host free while the workers have slots; an ib-fetch then runs at once', () => {
    const hosts = guide()
    const ib = hosts[3]
    const placed: string[] = []
    // 11 backtests, at most 4 running at once (the workers' slots), finishing oldest first.
    const running: HostView[] = []
    for (let i = 0; i < 11; i++) {
      if (running.length === 4) running.shift()!.running--
      const chosen = placeOperation(hosts, backtest)!
      chosen.running++
      running.push(chosen)
      placed.push(chosen.id)
      expect(ib.running).toBe(0)
      expect(placeOperation(hosts, ibFetch)?.id).toBe('ib-host-1')
    }
    expect(new Set(placed)).toEqual(new Set(['ktrdr-worker-1', 'ktrdr-worker-2']))
  })

  it('with the workers full, the IB host takes a backtest rather than leave it waiting', () => {
    const hosts = guide()
    for (let i = 0; i < 4; i++) placeOperation(hosts, backtest)!.running++
    expect(placeOperation(hosts, backtest)?.id).toBe('ib-host-1')
  })

  it('training prefers the GPU host; without a free GPU it goes to a worker before the IB host', () => {
    const hosts = guide()
    const train = req({ requires: { workerTypes: ['training', 'general'] }, preferGpu: true })
    expect(placeOperation(hosts, train)?.id).toBe('training-host-1')
    hosts[2].running = 1
    expect(placeOperation(hosts, train)?.id).toMatch(/^ktrdr-worker-/)
  })
})

describe('pending queue', () => {
  it('orders by priority, then FIFO; removal is lazy and re-push goes back to its seq position', () => {
    const q = createPendingQueue<{ id: string; priority: number; seq: number }>()
    q.push({ id: 'a', priority: 0, seq: 1 })
    q.push({ id: 'b', priority: 0, seq: 2 })
    q.push({ id: 'c', priority: 5, seq: 3 })
    q.push({ id: 'd', priority: 0, seq: 4 })
    expect([...q.ordered()].map((e) => e.id)).toEqual(['c', 'a', 'b', 'd'])
    q.remove('a')
    expect([...q.ordered()].map((e) => e.id)).toEqual(['c', 'b', 'd'])
    q.push({ id: 'a', priority: 0, seq: 1 })
    expect([...q.ordered()].map((e) => e.id)).toEqual(['c', 'a', 'b', 'd'])
    expect(q.size).toBe(4)
  })
})
