// Research-loop orchestration overhead per cycle, children's own compute excluded: a gateway with
// the research routes and a fake host whose design/train/backtest/assess finish at once. Measured:
// the loop's own bookkeeping (orchestration_ms: deciding, invoking, recording, excluding waits for
// children) and the wall time of a whole loop, against the same four invocations made back to back
// by a client with wait_seconds (what a script would do without the loop) in the same run.
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
    const wall: number[] = []
    for (let i = 0; i < LOOPS + 3; i++) {
      const t0 = performance.now()
      const id = (await g.api('/api/v1/research', { body: { brief: `bench ${i}` } })).body.operation_id as string
      let loop: { status: string; orchestration_ms: number }
      for (;;) {
        loop = (await g.api(`/api/v1/research/${id}`)).body.data
        if (loop.status !== 'pending' && loop.status !== 'running') break
        await new Promise((r) => setTimeout(r, 2))
      }
      if (loop.status !== 'completed') throw new Error(`bench loop ${id} ended ${loop.status}`)
      if (i >= 3) {
        wall.push(performance.now() - t0)
        orchestration.push(loop.orchestration_ms)
      }
    }
    return {
      title: 'Research loop: orchestration overhead per cycle (fake instant children)',
      rows: [
        { case: 'loop bookkeeping (orchestration_ms), p50', ms: median(orchestration).toFixed(1), goal: '≤ 50 ms' },
        { case: 'loop bookkeeping (orchestration_ms), p95', ms: p95(orchestration).toFixed(1), goal: '' },
        { case: 'whole loop, wall (4 children + polling), p50', ms: median(wall).toFixed(1), goal: '' },
        { case: 'baseline: the 4 invocations back to back, p50', ms: median(direct).toFixed(1), goal: '' },
      ],
      notes: [
        `${LOOPS} loops after 3 warm-up ones; each loop designs, trains, backtests and assesses (fake results), writes its experiment record and hypotheses.`,
        'orchestration_ms counts time inside the state machine (invoke calls, database saves, memory writes), not the waits for children.',
      ],
    }
  } finally {
    await h.close()
    await g.close()
  }
}
