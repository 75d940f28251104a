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
        slots: fc.integer({ min: 1, max: 4 }),
        running: fc.integer({ min: 0, max: 4 }),
        schedulable: fc.boolean(),
        lastSelected: fc.nat(100),
        llm: fc.boolean(),
        ib: fc.boolean(),
      }),
      { maxLength: 30 },
    )
    const needs = fc.record({ llm: fc.boolean(), ib: fc.boolean() })
    fc.assert(
      fc.property(arb, fc.boolean(), fc.boolean(), needs, (specs, preferGpu, requireGpu, requires) => {
        const hosts = specs.map((s, i) => host(`h${i}`, s))
        const r = req({ preferGpu, requireGpu, requires })
        // A function that needs a capability (llm for design/assess, ib for ib-fetch) lands only on hosts with it.
        const eligible = hosts.filter(
          (h) => h.schedulable && h.running < h.slots && (!requireGpu || h.gpu) && (!requires.llm || h.llm) && (!requires.ib || h.ib),
        )
        const chosen = placeOperation(hosts, r)
        if (eligible.length === 0) return chosen === undefined
        if (!chosen || !eligible.includes(chosen)) return false
        const load = (h: HostView) => h.running / h.slots
        const pool = preferGpu && eligible.some((h) => h.gpu) ? eligible.filter((h) => h.gpu) : eligible
        return pool.includes(chosen) && pool.every((h) => load(h) >= load(chosen))
      }),
    )
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
