// Research-loop orchestration overhead per cycle, children's own compute excluded: a gateway with
// the research routes and a fake host whose design/train/backtest/assess finish at once. Measured:
// the loop's own bookkeeping (orchestration_ms: deciding, invoking, recording, excluding waits for
// children), the loop's wall time minus its children's lifetimes (what the loop adds between and
// around them, wake-ups included), and the wall time of a whole loop, against the same four
// invocations made back to back by a client with wait_seconds (what a script would do without the
// loop) in the same run. The client waits for each loop's end with wait_seconds too: polling the
// loop from the same process would take event-loop time from the loop it measures.
import type { Operation } from '../runtime/protocol/index.ts'
import type { BenchSection } from './_types.ts'
import { startFakeLlmHost, startResearchGateway } from '../research/loop/test/_fake-cluster.ts'

const LOOPS = 20

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]

export default async function run(): Promise<BenchSection> {
  const g = await startResearchGateway()
  const h = await startFakeLlmHost(g.url, 'llm-1')
  try {
    // Baseline: the four children invoked directly, each awaited, as a client script would.
    const direct: number[] = []
    for (let i = 0; i < LOOPS + 3; i++) {
      const t0 = performance.now()
      for (const fn of ['design', 'train', 'backtest', 'assess'])
        await g.api(`/api/v1/functions/${fn}/invoke`, { body: { input: { strategy_name: 'fake_strategy' }, wait_seconds: 10 } })
      if (i >= 3) direct.push(performance.now() - t0)
    }
    const orchestration: number[] = []
    const between: number[] = []
    const wall: number[] = []
    const ms = (from: string | null, to: string | null) => Date.parse(to!) - Date.parse(from!)
    for (let i = 0; i < LOOPS + 3; i++) {
      const t0 = performance.now()
      const id = (await g.api('/api/v1/research', { body: { brief: `bench ${i}` } })).body.operation_id as string
      const loop = (await g.api(`/api/v1/research/${id}?wait_seconds=60`)).body.data as {
        status: string
        orchestration_ms: number
        created_at: string
        completed_at: string
      }
      const elapsed = performance.now() - t0
      if (loop.status !== 'completed') throw new Error(`bench loop ${id} ended ${loop.status}`)
      if (i < 3) continue
      wall.push(elapsed)
      orchestration.push(loop.orchestration_ms)
      const children = (await g.api<{ data: Operation[] }>(`/api/v1/operations/${id}/children`)).body.data
      if (children.length !== 4) throw new Error(`bench loop ${id} has ${children.length} children`)
      between.push(ms(loop.created_at, loop.completed_at) - children.reduce((sum, c) => sum + ms(c.created_at, c.completed_at), 0))
    }
    return {
      title: 'Research loop: orchestration overhead per cycle (fake instant children)',
      rows: [
        { case: 'loop bookkeeping (orchestration_ms), p50', ms: median(orchestration).toFixed(1), goal: '≤ 50 ms' },
        { case: 'loop bookkeeping (orchestration_ms), p95', ms: p95(orchestration).toFixed(1), goal: '' },
        { case: 'loop wall minus its children’s lifetimes, p50', ms: median(between).toFixed(0), goal: '≤ 50 ms' },
        { case: 'loop wall minus its children’s lifetimes, p95', ms: p95(between).toFixed(0), goal: '' },
        { case: 'whole loop, wall (POST → end, answered by wait_seconds), p50', ms: median(wall).toFixed(1), goal: '' },
        { case: 'baseline: the 4 invocations back to back, p50', ms: median(direct).toFixed(1), goal: '' },
      ],
      notes: [
        `${LOOPS} loops after 3 warm-up ones; each loop designs, trains, backtests and assesses (fake results), writes its experiment record and hypotheses.`,
        'orchestration_ms counts time inside the state machine (invoke calls, database saves, reading the strategy and the data window, the experiment record and hypotheses), not the waits for children.',
        'wall minus children: the loop’s created_at → completed_at less each child’s created_at → completed_at (ms timestamps), so wake-ups after a child ends count too.',
      ],
    }
  } finally {
    await h.close()
    await g.close()
  }
}
