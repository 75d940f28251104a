// Walk-forward orchestration overhead per fold, children's own compute excluded: a gateway with the
// research routes and a fake host whose train and backtest finish at once (writing the equity.csv
// the stitching reads). Measured: the parent's own bookkeeping per fold (orchestration_ms: planning
// the next children, invoking, reading results, saving the row; the final stitching and files
// included), its wall time minus its children's lifetimes per fold, and the whole walk-forward's wall
// time per fold, against the same two invocations per fold made back to back by a client with
// wait_seconds in the same run. One child at a time (max_parallel 1), as the baseline runs them.
import type { Operation } from '../runtime/protocol/index.ts'
import type { BenchSection } from './_types.ts'
import { startFakeTrainingHost, startWalkForwardGateway } from '../research/parents/test/_fake-cluster.ts'

const RUNS = 5
const BODY = {
  strategy: 'regime_momentum',
  start_date: '2020-01-01',
  end_date: '2020-03-31',
  train_window: '14d',
  test_window: '3d',
  max_parallel: 1,
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export default async function run(): Promise<BenchSection> {
  const g = await startWalkForwardGateway()
  const h = await startFakeTrainingHost(g, 'host-1')
  try {
    const ms = (from: string | null, to: string | null) => Date.parse(to!) - Date.parse(from!)
    const orchestration: number[] = []
    const between: number[] = []
    const wall: number[] = []
    let folds = 0
    for (let i = 0; i < RUNS + 1; i++) {
      const t0 = performance.now()
      const started = await g.api('/api/v1/walkforward', { body: BODY })
      if (started.status !== 202) throw new Error(`bench walk-forward refused: ${JSON.stringify(started.body)}`)
      const id = started.body.operation_id as string
      // The event stream closes after the final state: the end is pushed, nothing polls.
      await (await fetch(`${g.url}/api/v1/walkforward/${id}/events`)).text()
      const elapsed = performance.now() - t0
      const wf = (await g.api(`/api/v1/walkforward/${id}`)).body.data as {
        status: string
        orchestration_ms: number
        created_at: string
        completed_at: string
        folds: unknown[]
      }
      if (wf.status !== 'completed') throw new Error(`bench walk-forward ${id} ended ${wf.status}`)
      folds = wf.folds.length
      if (i === 0) continue
      const children = (await g.api<{ data: Operation[] }>(`/api/v1/operations/${id}/children?limit=1000`)).body.data
      if (children.length !== folds * 2) throw new Error(`bench walk-forward ${id} has ${children.length} children`)
      orchestration.push(wf.orchestration_ms / folds)
      between.push((ms(wf.created_at, wf.completed_at) - children.reduce((sum, c) => sum + ms(c.created_at, c.completed_at), 0)) / folds)
      wall.push(elapsed / folds)
    }
    // Baseline: each fold's train and backtest invoked directly, each awaited, as a client script would.
    const direct: number[] = []
    for (let i = 0; i < RUNS + 1; i++) {
      const t0 = performance.now()
      for (let f = 0; f < folds; f++) {
        await g.api('/api/v1/functions/train/invoke', {
          body: { input: { strategy_name: 'regime_momentum', start_date: '2020-01-01', end_date: '2020-01-14' }, wait_seconds: 10 },
        })
        await g.api('/api/v1/functions/backtest/invoke', {
          body: { input: { model_path: 'models/x', start_date: '2020-01-15', end_date: '2020-01-17' }, wait_seconds: 10 },
        })
      }
      if (i > 0) direct.push((performance.now() - t0) / folds)
    }
    const wallP50 = median(wall)
    const directP50 = median(direct)
    return {
      title: 'Walk-forward: orchestration overhead per fold (fake instant children)',
      rows: [
        { case: 'parent bookkeeping per fold (orchestration_ms / folds), p50', ms: median(orchestration).toFixed(2), goal: '' },
        { case: 'parent wall minus its children’s lifetimes, per fold, p50', ms: median(between).toFixed(1), goal: '' },
        { case: 'whole walk-forward, wall per fold (POST → final event), p50', ms: wallP50.toFixed(1), goal: '' },
        { case: 'baseline: the fold’s train + backtest invoked back to back, p50', ms: directP50.toFixed(1), goal: '' },
        { case: 'walk-forward wall / baseline', ms: (wallP50 / directP50).toFixed(2), goal: '' },
      ],
      notes: [
        `${RUNS} walk-forwards of ${folds} folds each (14 d training, 3 d test, rolling over 2020-01-01 → 2020-03-31 of hourly bars) after one warm-up, one child at a time; the baseline makes the same ${folds * 2} invocations per run, each awaited with wait_seconds.`,
        'orchestration_ms counts the parent’s own steps (invoke calls, reading results, database saves, stitching and writing the result files), not the waits for children; admission (reading the strategy, the data and its bar timestamps) is in the wall time only.',
        'wall minus children: the parent’s created_at → completed_at less each child’s created_at → completed_at (ms timestamps), so wake-ups after a child ends count too.',
      ],
    }
  } finally {
    await h.close()
    await g.close()
  }
}
