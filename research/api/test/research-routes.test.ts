// The read-only routes a researcher uses after running something: operation results, result files,
// models, training performance, timeframes and symbols. A real gateway on a loopback port, a fake
// host whose invocations end the way each test says, models saved by the core's real saveModelVersion.
import { request } from 'node:http'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorInfo, type Operation } from '../../../runtime/protocol/index.ts'
import { TIMEFRAMES, generateSyntheticSeries, saveBars } from '../../../trading/index.ts'
import { backtestRunKey } from '../../../trading/index.ts'
import { useTfBackend } from '../../../trading/model/index.ts'
import { seriesFromCloses, startFakeHost, startTestGateway, type TestGateway } from '../../../test/kit/index.ts'
import { researchInvokeChecks, researchRoutes } from '../../index.ts'
import { saveTinyModel } from './_tiny-model.ts'

let g: TestGateway
let host: Awaited<ReturnType<typeof startFakeHost>>
const trainResults = new Map<string, ReturnType<typeof trainingResult>>()

function saveModel(strategy: string, testAccuracy: number, createdAt: string) {
  return saveTinyModel(g.gateway.services.storage, {
    strategy,
    architecture: { hidden_layers: [4], activation: 'relu', dropout: 0 },
    metadata: { created_at: createdAt, training_symbols: ['EURUSD'], operation_id: 'op_training_x' },
    metrics: {
      history: [
        { epoch: 1, train_loss: 1.1, val_loss: 1.2 },
        { epoch: 2, train_loss: 0.9, val_loss: 1.0 },
      ],
      test_metrics: { test_accuracy: testAccuracy, test_loss: 1 },
      best_epoch: 2,
      early_stopped: false,
    },
  })
}

/** A result shaped like train's (functions/train/src/result.ts), the fields the routes read filled in. */
function trainingResult(modelKey: string, version: number) {
  return {
    model_path: `models/${modelKey}`,
    model_key: modelKey,
    model_version: version,
    training_metrics: {
      epochs_trained: 7,
      epochs_requested: 20,
      early_stopped: true,
      best_epoch: 4,
      final_train_loss: 0.81,
      final_train_accuracy: 0.62,
      best_train_accuracy: 0.64,
      final_val_loss: 0.93,
      final_val_accuracy: 0.55,
      best_val_accuracy: 0.57,
      val_majority_baseline: 0.5,
      training_time: 90,
      history: { train_loss: [], train_accuracy: [], val_loss: [], val_accuracy: [], learning_rate: [] },
    },
    test_metrics: {
      test_accuracy: 0.54,
      test_loss: 0.97,
      precision: 0.5,
      recall: 0.54,
      f1_score: 0.51,
      confusion_matrix: [],
      per_class: [],
      majority_baseline: 0.4,
      majority_class: 'SELL',
      balanced_accuracy: 0.5,
      macro_f1: 0.45,
      baseline: { accuracy: 0.4, balanced_accuracy: 1 / 3, macro_f1: 0.19 },
      edge_over_majority: 0.14,
    },
    warnings: [],
    feature_count: 3,
    epochs_trained: 7,
    early_stopped: true,
    backend: 'cpu',
    resumed_from: null,
    artifacts: { feature_importance: null, per_symbol_metrics: null },
    model_info: { parameters_count: 31, trainable_parameters: 31, architecture: 'v3_mlp', model_type: 'mlp', sequence_length: null },
    data_summary: {
      symbols: ['EURUSD'],
      timeframes: ['1h'],
      start_date: null,
      end_date: null,
      total_samples: 10,
      feature_count: 3,
      train_samples: 7,
      validation_samples: 2,
      test_samples: 1,
      data_sha256: 'x',
      synthetic: true,
      per_symbol: [] as never,
      purged: { train: 0, validation: 0, unsettled: 0, embargo_rows: 0 },
    },
    session_info: {
      operation_id: 'x',
      attempt: 1,
      strategy_name: 's',
      symbols: ['EURUSD'],
      timeframes: ['1h'],
      training_mode: 'local',
      use_host_service: false,
      start_date: null,
      end_date: null,
      worker_id: 'w',
      seed: 1,
    },
    resource_usage: { training_mode: 'local', backend: 'cpu', backend_package: '@tensorflow/tfjs', gpu: false },
  }
}

beforeAll(async () => {
  await useTfBackend()
  // The fake host answers stand-in inputs ({fail}, {result_for}) under the trading functions' names;
  // the gateway's checks of real train/backtest inputs are tested in invoke-checks.test.ts.
  g = await startTestGateway({ routes: researchRoutes.filter((r) => r !== researchInvokeChecks) })
  host = await startFakeHost({
    gatewayUrl: g.url,
    workerId: 'research-host',
    capabilities: { slots: 4 },
    outcome: (req) => {
      const input = req.input as { fail?: boolean; result_for?: string }
      if (input.fail) return { error: errorInfo('STRATEGY_INVALID', 'Strategy has no features') }
      if (input.result_for) return { result: trainResults.get(input.result_for) }
      return { result: { echo: req.input, worker_id: 'research-host' } }
    },
  })
})
afterAll(async () => {
  await host?.close()
  await g?.close()
})

async function run(fn: string, input: Record<string, unknown>): Promise<Operation> {
  const r = await g.api<Operation>(`/api/v1/functions/${fn}/invoke`, { body: { input, wait_seconds: 10 } })
  expect(r.status).toBe(200)
  return r.body
}

/** A raw GET (fetch would normalise "..", which is the point of the traversal checks). */
function rawGet(path: string): Promise<{ status: number; body: string; type: string | undefined }> {
  const url = new URL(g.url)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), type: res.headers['content-type'] }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

describe('GET /api/v1/operations/:id/results', () => {
  it('returns the result of completed and failed operations; 400 while live or cancelled; 404 unknown', async () => {
    const done = await run('echo', { message: 'hi' })
    const ok = await g.api(`/api/v1/operations/${done.operation_id}/results`)
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({
      success: true,
      operation_id: done.operation_id,
      operation_type: 'dummy',
      status: 'completed',
      results: { echo: { message: 'hi' } },
    })

    const failed = await run('backtest', { fail: true })
    const f = await g.api(`/api/v1/operations/${failed.operation_id}/results`)
    expect(f.status).toBe(200)
    expect(f.body).toMatchObject({
      success: false,
      operation_type: 'backtesting',
      status: 'failed',
      results: null,
      error: { code: 'STRATEGY_INVALID' },
    })

    // Only hosts of type 'backtesting' run bt-only: none here, so it stays pending.
    const pending = (await g.api<Operation>('/api/v1/functions/bt-only/invoke', { body: { input: {} } })).body
    const p = await g.api(`/api/v1/operations/${pending.operation_id}/results`)
    expect(p.status).toBe(400)
    expect(p.body.message).toMatch(/is pending.*completed or failed/)
    await g.api(`/api/v1/operations/${pending.operation_id}`, { method: 'DELETE' })
    expect((await g.api(`/api/v1/operations/${pending.operation_id}/results`)).status).toBe(400)

    expect((await g.api('/api/v1/operations/op_nope/results')).status).toBe(404)
  })
})

describe('GET /api/v1/results/…', () => {
  const key = `${backtestRunKey('op_backtesting_20261128_000000_abcd1234', 'EURUSD', 0)}`
  const trades = JSON.stringify([{ side: 'BUY', net_pnl: 12.5 }])
  const equity = 'timestamp,price,portfolio_value,position\n2024-01-01T00:00:00Z,1.1,100000,FLAT\n'
  beforeAll(async () => {
    const { storage } = g.gateway.services
    await storage.results.setItem(`${key}/trades.json`, trades)
    await storage.results.setItem(`${key}/equity.csv`, equity)
    await storage.data.setItem('secret.txt', 'do not serve me')
  })

  it('streams stored files with their content type', async () => {
    const t = await fetch(`${g.url}/api/v1/results/${key}/trades.json`)
    expect(t.status).toBe(200)
    expect(t.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await t.text()).toBe(trades)
    const e = await fetch(`${g.url}/api/v1/results/${key}/equity.csv`)
    expect(e.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(Number(e.headers.get('content-length'))).toBe(Buffer.byteLength(equity))
    expect(await e.text()).toBe(equity)
  })

  it('lists a folder (and ?prefix= at the root) with the URLs of its files', async () => {
    const folder = await g.api(`/api/v1/results/backtests/op_backtesting_20261128_000000_abcd1234`)
    expect(folder.status).toBe(200)
    expect(folder.body.data.map((f: { key: string }) => f.key)).toEqual([`${key}/equity.csv`, `${key}/trades.json`])
    expect(folder.body.data[1].url).toBe(`/api/v1/results/${key}/trades.json`)
    expect(folder.body).toMatchObject({ total_count: 2, limit: 1000, offset: 0 })
    expect((await g.api(`/api/v1/results?prefix=backtests`)).body.total_count).toBe(2)
    expect((await g.api(`/api/v1/results?prefix=backtests&limit=1&offset=1`)).body.data).toEqual([folder.body.data[1]])
  })

  it('404 with a clear message for unknown keys', async () => {
    const r = await g.api('/api/v1/results/backtests/op_missing/summary.json')
    expect(r.status).toBe(404)
    expect(r.body.code).toBe('RESULT_NOT_FOUND')
    expect(r.body.message).toMatch(/No result file or folder "backtests\/op_missing\/summary.json"/)
  })

  it('never leaves the results mount (no path traversal)', async () => {
    for (const path of [
      '/api/v1/results/../data/secret.txt',
      '/api/v1/results/%2e%2e/data/secret.txt',
      '/api/v1/results/backtests/..%2f..%2fdata%2fsecret.txt',
      '/api/v1/results/..%5cdata%5csecret.txt',
      '/api/v1/results/backtests:..:..:data:secret.txt',
      '/api/v1/results?prefix=../data',
      '/api/v1/models/..%2fdata/1h_v1/secret.txt',
      '/api/v1/models/x/1h_v1/..%2f..%2f..%2fdata%2fsecret.txt',
    ]) {
      const r = await rawGet(path)
      expect(r.body, path).not.toContain('do not serve me')
      expect([400, 404], path).toContain(r.status)
    }
  })

  it('needs the API token; the cluster token is not enough', async () => {
    const t = await startTestGateway({ apiToken: 'api-secret', clusterToken: 'cluster-secret', routes: researchRoutes })
    try {
      await t.gateway.services.storage.results.setItem('backtests/op_y/summary.json', '{}')
      const path = '/api/v1/results/backtests/op_y/summary.json'
      expect((await t.api(path)).status).toBe(401)
      expect((await t.api(path, { headers: { authorization: 'Bearer cluster-secret' } })).status).toBe(401)
      expect((await t.api(path, { headers: { authorization: 'Bearer api-secret' } })).status).toBe(200)
      expect((await t.api('/api/v1/models', { headers: { authorization: 'Bearer cluster-secret' } })).status).toBe(401)
    } finally {
      await t.close()
    }
  })
})

describe('models and training performance', () => {
  let v1: { key: string; version: number }
  let v2: { key: string; version: number }
  beforeAll(async () => {
    v1 = await saveModel('research_strat', 0.51, '2026-11-01T00:00:00.000Z')
    v2 = await saveModel('research_strat', 0.58, '2026-11-02T00:00:00.000Z')
    // A version whose save never finished (claimed, no metadata.json): listed as incomplete.
    await g.gateway.services.storage.models.setItem('research_strat/4h_v1/claim.json', '{}')
  }, 60_000)

  it('GET /api/v1/models: strategies → versions with the latest pointer, created_at and test accuracy', async () => {
    const r = await g.api('/api/v1/models')
    expect(r.status).toBe(200)
    const s = r.body.data.find((d: any) => d.strategy === 'research_strat')
    expect(s.latest).toEqual({ '1h': '1h_v2' })
    expect(s.versions.map((v: any) => [v.version, v.complete, v.latest, v.test_accuracy, v.created_at])).toEqual([
      ['1h_v2', true, true, 0.58, '2026-11-02T00:00:00.000Z'],
      ['1h_v1', true, false, 0.51, '2026-11-01T00:00:00.000Z'],
      ['4h_v1', false, false, null, null],
    ])
    expect(s.versions[0].key).toBe(v2.key)
  })

  it('GET /api/v1/models/:strategy/:version: metadata, metrics summary, files; _latest resolves; 404s', async () => {
    const r = await g.api('/api/v1/models/research_strat/1h_latest')
    expect(r.status).toBe(200)
    expect(r.body.data).toMatchObject({
      key: v2.key,
      version: '1h_v2',
      latest: true,
      complete: true,
      metadata: { model_name: v2.key, created_at: '2026-11-02T00:00:00.000Z' },
    })
    expect(r.body.data.metrics).toMatchObject({
      test_metrics: { test_accuracy: 0.58 },
      best_epoch: 2,
      epochs: 2,
      final_epoch: { epoch: 2 },
    })
    expect(r.body.data.files.map((f: any) => f.name)).toEqual(['claim.json', 'metadata.json', 'metrics.json', 'model.json', 'weights.bin'])
    const weights = r.body.data.files.find((f: any) => f.name === 'weights.bin')
    const onDisk = statSync(join(g.dir, 'store', 'models', v2.key, 'weights.bin')).size
    expect(weights.size).toBe(onDisk)
    const bin = await fetch(`${g.url}${weights.url}`)
    expect(bin.headers.get('content-type')).toBe('application/octet-stream')
    expect((await bin.arrayBuffer()).byteLength).toBe(onDisk)
    expect((await g.api(`/api/v1/models/research_strat/1h_v1`)).body.data.latest).toBe(false)
    expect((await g.api('/api/v1/models/research_strat/1h_v9')).status).toBe(404)
    expect((await g.api('/api/v1/models/nobody/1h_latest')).body.code).toBe('MODEL_NOT_FOUND')
    expect((await g.api('/api/v1/models/research_strat/1h_v1/nothing.json')).status).toBe(404)
  })

  it('GET /api/v1/trainings/:id/performance maps the train result (docs/domain.md#training-result); 400 unless a completed training; 404 unknown', async () => {
    trainResults.set('t1', trainingResult(v1.key, v1.version))
    const done = await run('train', { result_for: 't1' })
    const r = await g.api(`/api/v1/trainings/${done.operation_id}/performance`)
    expect(r.status).toBe(200)
    const files = ['model.json', 'weights.bin'].map((f) => statSync(join(g.dir, 'store', 'models', v1.key, f)).size)
    expect(r.body).toEqual({
      success: true,
      task_id: done.operation_id,
      operation_id: done.operation_id,
      status: 'completed',
      model_path: `models/${v1.key}`,
      training_metrics: {
        final_train_loss: 0.81,
        final_val_loss: 0.93,
        final_train_accuracy: 0.62,
        final_val_accuracy: 0.55,
        epochs_completed: 7,
        early_stopped: true,
        training_time_minutes: 1.5,
      },
      test_metrics: {
        test_loss: 0.97,
        test_accuracy: 0.54,
        precision: 0.5,
        recall: 0.54,
        f1_score: 0.51,
        majority_baseline: 0.4,
        balanced_accuracy: 0.5,
        macro_f1: 0.45,
        baseline: { accuracy: 0.4, balanced_accuracy: 1 / 3, macro_f1: 0.19 },
      },
      warnings: [],
      model_info: { model_size_bytes: files[0] + files[1], parameters_count: 31, architecture: 'v3_mlp' },
    })

    // The operation's results point a curl user at the model and this view.
    const links = (await g.api(`/api/v1/operations/${done.operation_id}/results`)).body.links
    expect(links).toEqual({ model: `/api/v1/models/${v1.key}`, performance: `/api/v1/trainings/${done.operation_id}/performance` })
    expect((await g.api(links.model)).body.data.key).toBe(v1.key)

    const failed = await run('train', { fail: true })
    expect((await g.api(`/api/v1/trainings/${failed.operation_id}/performance`)).body).toMatchObject({
      statusCode: 400,
      code: 'TRAINING_NOT_COMPLETED',
    })
    const echo = await run('echo', { message: 'x' })
    expect((await g.api(`/api/v1/trainings/${echo.operation_id}/performance`)).body).toMatchObject({
      statusCode: 400,
      code: 'NOT_A_TRAINING',
    })
    expect((await g.api('/api/v1/trainings/op_training_nope/performance')).status).toBe(404)
  })
})

describe('GET /api/v1/timeframes and /api/v1/symbols', () => {
  it('timeframes: every supported one with a name and description', async () => {
    const r = await g.api('/api/v1/timeframes')
    expect(r.status).toBe(200)
    expect(r.body.data.map((t: any) => t.id)).toEqual([...TIMEFRAMES])
    expect(r.body.data.find((t: any) => t.id === '1h')).toMatchObject({ name: '1 Hour', description: expect.stringMatching(/1-hour bars/) })
    expect(r.body.data.find((t: any) => t.id === '15m').name).toBe('15 Minutes')
    for (const t of r.body.data) expect(t.description.length).toBeGreaterThan(0)
  })

  it('symbols: one entry per stored symbol with its timeframes, synthetic flagged', async () => {
    const { storage } = g.gateway.services
    await saveBars(storage.data, generateSyntheticSeries({ symbol: 'SYNA', timeframe: '1h', bars: 30, seed: 1 }), {
      meta: { synthetic: true, generator: 'test', seed: 1, preset: 'forex' },
    })
    await saveBars(storage.data, generateSyntheticSeries({ symbol: 'SYNA', timeframe: '1d', bars: 10, seed: 2 }), {
      meta: { synthetic: true, generator: 'test', seed: 2, preset: 'forex' },
    })
    await saveBars(
      storage.data,
      seriesFromCloses([1, 1.1, 1.2, 1.3], { symbol: 'REALB', timeframe: '4h', start: Date.UTC(2024, 0, 1), stepMs: 4 * 3_600_000 }),
    )
    const r = await g.api('/api/v1/symbols')
    expect(r.status).toBe(200)
    const a = r.body.data.find((s: any) => s.symbol === 'SYNA')
    expect(a).toMatchObject({ symbol: 'SYNA', name: 'SYNA', synthetic: true, type: 'forex', timeframes: ['1d', '1h'] })
    expect(a.datasets.find((d: any) => d.timeframe === '1h').bars).toBe(30)
    expect(r.body.data.find((s: any) => s.symbol === 'REALB')).toMatchObject({
      timeframes: ['4h'],
      synthetic: false,
      exchange: null,
      type: null,
    })
  })
})

describe('lists of sweeps, walk-forwards and research loops', () => {
  it('filter by comma-separated statuses, any case; an unknown one is a 400 naming the allowed ones', async () => {
    for (const path of ['/api/v1/sweeps', '/api/v1/walkforward', '/api/v1/research']) {
      const ok = await g.api(`${path}?status=Running,FAILED`)
      expect(ok.status, path).toBe(200)
      expect(ok.body.data, path).toEqual([])
      const bad = await g.api(`${path}?status=running,finished`)
      expect(bad.status, path).toBe(400)
      expect(bad.body, path).toMatchObject({
        code: 'BAD_REQUEST',
        message: 'status must be one of pending, running, completed, failed, cancelled',
        details: { field: 'status' },
      })
    }
  })
})
