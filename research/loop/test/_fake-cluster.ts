// A gateway with the research routes and a fake host whose design/train/backtest/assess finish at
// once with results shaped like the real functions': the loop's orchestration, durability and
// bookkeeping without LLM or training compute (the real thing: test/cluster/research.test.ts).
import { mkdtempSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fakeManifest, startFakeHost, startTestGateway } from '../../../test/kit/index.ts'
import type { GatewayServerConfig } from '../../../runtime/gateway/index.ts'
import type { DispatchRequest } from '../../../runtime/protocol/index.ts'
import { generateSyntheticSeries, MODEL_FILES, saveBars } from '../../../trading/index.ts'
import { researchRoutes } from '../../api/index.ts'

export const MANIFESTS = [
  fakeManifest('design', { operation_type: 'agent_design', placement: { requires: { llm: true } }, input_schema: { type: 'object' } }),
  fakeManifest('assess', { operation_type: 'agent_assessment', placement: { requires: { llm: true } }, input_schema: { type: 'object' } }),
  fakeManifest('train', { operation_type: 'training', input_schema: { type: 'object' } }),
  fakeManifest('backtest', { operation_type: 'backtesting', input_schema: { type: 'object' } }),
]

export interface FakeResults {
  testLoss?: number
  trades?: number
  /** Where the fake training says it saved the model (default fake_strategy/1h_v1, which is stored). */
  modelPath?: string
}

/** What each fake function returns (the fields the loop and the experiment record read). */
export function fakeOutcome(results: FakeResults = {}) {
  return (request: DispatchRequest) => {
    const input = request.input as Record<string, any>
    switch (request.function.name) {
      case 'design':
        return {
          result: {
            strategy_name: 'fake_strategy',
            market: { symbol: 'EURUSD', timeframe: '1h' },
            attempt_count: 1,
            model: 'fake-llm',
            model_sha256: 'a'.repeat(64),
            tokens_in: 120,
            tokens_out: 80,
            tokens_per_second: 100,
            hypothesis: 'momentum persists',
            memory: { experiments: [], hypotheses: [] },
          },
        }
      case 'train':
        return {
          result: {
            model_path: results.modelPath ?? 'fake_strategy/1h_v1',
            model_key: results.modelPath ?? 'fake_strategy/1h_v1',
            training_metrics: { final_train_accuracy: 0.6, final_val_accuracy: 0.55, history: { train_loss: [1.1, 0.9] } },
            test_metrics: { test_accuracy: 0.52, test_loss: results.testLoss ?? 0.7, majority_baseline: 0.4, edge_over_majority: 0.12 },
          },
        }
      case 'backtest':
        return {
          result: {
            metrics: { total_trades: results.trades ?? 30, win_rate: 0.5, sharpe_ratio: 0.8, max_drawdown_pct: 12, total_return_pct: 4 },
            baselines: { buy_and_hold: { return_pct: 1 }, random_entries: { percentile: 90, p_value: 0.1 } },
            trade_count: results.trades ?? 30,
            out_of_sample: { overlap_bars: 0, checked: true },
          },
        }
      case 'assess':
        return {
          result: {
            verdict: 'weak_signal',
            observations: ['trades beat random entries at the 90th percentile'],
            hypotheses: [`hypothesis from ${input.strategy_name} at ${request.operation_id}`],
            limitations: ['one market'],
            facts: { allowed_verdicts: ['weak_signal', 'no_signal'] },
            model: 'fake-llm',
            model_sha256: 'a'.repeat(64),
            stats: { tokens_in: 60, tokens_out: 40 },
          },
        }
      default:
        return { error: { message: `no fake for ${request.function.name}`, code: 'NO_FAKE' } }
    }
  }
}

const REPO = resolve(import.meta.dirname, '../../..')

/**
 * Gateway (research routes, fake registry) with EURUSD 1h data and the fake strategy in its storage;
 * `config` (e.g. a PostgreSQL databaseUrl) is kept on the result so a restart reopens the same state.
 */
export async function startResearchGateway(dir = mkdtempSync(join(tmpdir(), 'ktrdr-loop-')), config: GatewayServerConfig = {}) {
  const g = Object.assign(await startTestGateway({ ...config, routes: researchRoutes }, dir, MANIFESTS), { config })
  const storage = g.gateway.services.storage
  if (!(await storage.strategies.hasItem('fake_strategy.yaml'))) {
    const yaml = await readFile(join(REPO, 'examples/strategies/regime_momentum.yaml'), 'utf8')
    await storage.strategies.setItem('fake_strategy.yaml', yaml.replace('name: regime_momentum', 'name: fake_strategy'))
    await storage.strategies.setItem('regime_momentum.yaml', yaml)
    await saveBars(storage.data, generateSyntheticSeries({ symbol: 'EURUSD', timeframe: '1h', bars: 2000, seed: 1 }))
    // The model the fake training reports, as far as the gateway's backtest check reads it.
    await storage.models.setItem(`fake_strategy/1h_v1/${MODEL_FILES.metadata}`, {
      training_symbols: ['EURUSD'],
      training_timeframes: ['1h'],
      base_timeframe: '1h',
    })
  }
  return g
}

export function startFakeLlmHost(url: string, workerId: string, results?: FakeResults) {
  return startFakeHost({
    gatewayUrl: url,
    workerId,
    capabilities: {
      llm: { model: 'fake-llm', sha256: 'a'.repeat(64), path: '/x.gguf', size_bytes: 1, context_size: 4096, gpu_layers: 0, threads: 1 },
      slots: 4,
    },
    outcome: fakeOutcome(results),
  })
}
