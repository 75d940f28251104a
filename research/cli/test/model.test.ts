// `ktrdr model …` as a user runs it: a CLI process against a gateway serving the research routes,
// over models saved by the core's saveModelVersion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useTfBackend } from '../../../trading/model/index.ts'
import { ktrdr as run, startTestGateway, type TestGateway } from '../../../test/kit/index.ts'
import { researchRoutes } from '../../index.ts'
import { saveTinyModel } from '../../api/test/_tiny-model.ts'

let g: TestGateway

const ktrdr = (...args: string[]) => run(args, { url: g.url, env: { NO_COLOR: '1' }, timeoutMs: 120_000 })

function saveModel(symbols: string[], testAccuracy: number) {
  return saveTinyModel(g.gateway.services.storage, {
    strategy: 'cli_strat',
    metadata: {
      created_at: '2026-01-02T03:04:05.000Z',
      output_type: 'classification',
      resolved_features: ['a', 'b', 'c'],
      training_symbols: symbols,
      training_timeframes: ['1h'],
      base_timeframe: '1h',
      data: { start_date: '2020-01-01', end_date: '2022-03-31', synthetic: true, samples: { train: 700, validation: 150, test: 150 } },
    },
    metrics: {
      history: [{ epoch: 1, train_loss: 1, val_loss: 1.1, val_accuracy: 0.52, duration: 3 }],
      test_metrics: { test_accuracy: testAccuracy, majority_baseline: 0.47, majority_class: 'HOLD', test_loss: 1 },
      best_epoch: 1,
      val_majority_baseline: 0.45,
    },
  })
}

beforeAll(async () => {
  await useTfBackend()
  g = await startTestGateway({ routes: researchRoutes })
  await saveModel(['EURUSD'], 0.6)
  await saveModel(['EURUSD'], 0.5)
  await saveModel(['AAPL', 'MSFT'], 0.55)
}, 60_000)
afterAll(async () => {
  await g?.close()
})

describe('ktrdr model', () => {
  it('promote tags a version; list shows symbols, tags and test accuracy beside the majority baseline', async () => {
    const promote = await ktrdr('model', 'promote', 'cli_strat', '1h_v1', '--tag', 'production')
    expect(promote.stderr).toBe('')
    expect(promote.stdout.trim()).toBe('cli_strat/1h_v1 is now cli_strat@production for EURUSD 1h')

    const list = await ktrdr('model', 'list')
    expect(list.code).toBe(0)
    const lines = list.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^STRATEGY\s+TF\s+SYMBOLS\s+VERSION\s+TAGS\s+DATA\s+TRAINED\s+TEST\s+BASELINE$/)
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/))).toEqual([
      ['cli_strat', '1h', 'AAPL,MSFT', '1h_v3', 'latest', 'SYNTHETIC', '2026-01-02 03:04:05', 'accuracy 55.00%', 'majority 47.00%'],
      ['cli_strat', '1h', 'EURUSD', '1h_v2', 'latest', 'SYNTHETIC', '2026-01-02 03:04:05', 'accuracy 50.00%', 'majority 47.00%'],
      ['cli_strat', '1h', 'EURUSD', '1h_v1', 'production', 'SYNTHETIC', '2026-01-02 03:04:05', 'accuracy 60.00%', 'majority 47.00%'],
    ])
    const json = JSON.parse((await ktrdr('model', 'list', 'cli_strat', '--json')).stdout)
    expect(json).toMatchObject({ total_count: 1, data: [{ strategy: 'cli_strat', sets: expect.any(Array), versions: expect.any(Array) }] })
  }, 120_000)

  it('show and compare take references; a bad one fails with the gateway’s message', async () => {
    // The tag the test above puts on with `promote` (PUT again: the same version, nothing moves).
    expect((await g.api('/api/v1/models/cli_strat/1h_v1/tags/production', { method: 'PUT' })).status).toBe(200)
    const show = await ktrdr('model', 'show', 'cli_strat@production')
    expect(show.code).toBe(0)
    expect(show.stdout).toMatch(/^cli_strat\/1h_v1 {2}\(production\)\n/)
    expect(show.stdout).toContain('symbols     EURUSD (SYNTHETIC data)')
    expect(show.stdout).toContain('test        accuracy 60.00% vs majority (HOLD) 47.00%\n')
    expect(show.stdout).toContain('training    1 epoch (best 1); validation accuracy 52.00% vs majority 45.00%')
    const shown = JSON.parse((await ktrdr('model', 'show', 'cli_strat', '1h_latest', '--symbol', 'MSFT', '--json')).stdout)
    expect(shown.data).toMatchObject({ key: 'cli_strat/1h_v3', symbols: ['AAPL', 'MSFT'], latest: true })

    const compare = await ktrdr('model', 'compare', 'cli_strat@production', 'cli_strat/1h_v2')
    expect(compare.code).toBe(0)
    const rows = compare.stdout.split('\n')
    expect(rows[0]).toMatch(/cli_strat 1h_v1 \(production\)\s+cli_strat 1h_v2/)
    expect(rows.find((r) => r.startsWith('Test accuracy'))).toMatch(/60\.00% \*\s+50\.00%$/)
    expect(rows.find((r) => r.startsWith('  Test: always the majority class'))).toMatch(/47\.00%\s+47\.00%$/)

    const ambiguous = await ktrdr('model', 'show', 'cli_strat/1h_latest')
    expect(ambiguous.code).toBe(1)
    expect(ambiguous.stderr).toMatch(/error: cli_strat\/1h_latest means one model per symbol set here .*\(HTTP 422\)/)
    const badTag = await ktrdr('model', 'promote', 'cli_strat', '1h_v2', '--tag', 'no good')
    expect(badTag.code).toBe(1)
    expect(badTag.stderr).toMatch(/Tag "no good" is not valid.*\(HTTP 400\)/)
  }, 120_000)
})
