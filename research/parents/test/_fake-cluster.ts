// A gateway with the research routes and a fake host whose train and backtest finish at once with
// results shaped like the real functions' (the backtest writes its equity.csv where the real one
// does): the walk-forward's orchestration, durability and aggregation without training compute
// (the real thing: test/cluster/walkforward.test.ts).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fakeManifest, startFakeHost, startTestGateway } from '../../../test/kit/index.ts'
import type { GatewayServerConfig } from '../../../runtime/gateway/index.ts'
import type { DispatchRequest } from '../../../runtime/protocol/index.ts'
import { generateSyntheticSeries, saveBars } from '../../../trading/index.ts'
import { researchRoutes } from '../../api/index.ts'

export const MANIFESTS = [
  fakeManifest('train', { operation_type: 'training', input_schema: { type: 'object' } }),
  fakeManifest('backtest', { operation_type: 'backtesting', input_schema: { type: 'object' } }),
]

const REPO = resolve(import.meta.dirname, '../../..')
const H = 3_600_000

export interface FakeMarket {
  /** Total return (percent) of a run: by its window's start, its parameter set, the model and the whole input; default 1. */
  returnPct?: (testStart: string, set: Record<string, any> | undefined, input: Record<string, any>) => number
  /** Make these trainings fail (by their strategy YAML). */
  failTraining?: (strategyYaml: string) => boolean
  /** Bars the backtest reports overlapping the model's training data; default 0. */
  overlapBars?: (testStart: string) => number
  /** Rows of each run's equity.csv, by the test window's start; default 4. 0: the run reports no bars. */
  bars?: (testStart: string) => number
  /** Fail these backtests as the real one does when its window holds no bars (BACKTEST_WINDOW_EMPTY). */
  emptyWindow?: (testStart: string) => boolean
  /** Called as each invocation ends, before its result is pushed (e.g. to refuse what comes next). */
  onEnd?: (request: DispatchRequest) => void
}

// Model versions are numbered across every fake host of the process (as the models mount does), and
// each remembers the strategy it was trained from, so a fake backtest can depend on its training's parameters.
let versions = 0
const trainedFrom = new Map<string, string>()

/** What the fake train and backtest return; the backtest also writes its equity.csv to the results mount at `storeDir`. */
export function fakeOutcome(storeDir: string, market: FakeMarket = {}) {
  return (request: DispatchRequest) => {
    market.onEnd?.(request)
    const input = request.input as Record<string, any>
    if (request.function.name === 'train') {
      if (market.failTraining?.(String(input.strategy_yaml ?? '')))
        return { error: { message: 'the loss became NaN at epoch 2', code: 'NAN_LOSS' } }
      const name = /^name:\s*(\S+)/m.exec(String(input.strategy_yaml ?? ''))?.[1] ?? String(input.strategy_name)
      const key = `${name}/1h_v${++versions}`
      trainedFrom.set(`models/${key}`, String(input.strategy_yaml ?? ''))
      // The model as far as the gateway's backtest check reads it (the real training writes more).
      mkdirSync(join(storeDir, 'models', key), { recursive: true })
      writeFileSync(
        join(storeDir, 'models', key, 'metadata.json'),
        JSON.stringify({
          training_symbols: input.symbols ?? [input.symbol ?? 'EURUSD'],
          training_timeframes: ['1h'],
          base_timeframe: '1h',
        }),
      )
      return {
        result: {
          model_path: `models/${key}`,
          model_key: key,
          training_metrics: { final_train_accuracy: 0.6, final_val_accuracy: 0.55, val_majority_baseline: 0.5, final_train_loss: 0.9 },
          test_metrics: { test_accuracy: 0.52, majority_baseline: 0.45, edge_over_majority: 0.07, test_loss: 0.95 },
          data_summary: {
            train_samples: 500,
            validation_samples: 100,
            test_samples: 100,
            start_date: input.start_date,
            end_date: input.end_date,
          },
        },
      }
    }
    if (request.function.name === 'backtest') {
      const start = String(input.start_date)
      if (market.emptyWindow?.(start))
        return { error: { message: `No EURUSD 1h bars between ${start} and ${String(input.end_date)}`, code: 'BACKTEST_WINDOW_EMPTY' } }
      const n = market.bars?.(start) ?? 4
      const symbols = (input.symbols as string[] | undefined) ?? [String(input.symbol)]
      const sets = (input.parameter_sets as Array<Record<string, any>> | undefined) ?? [undefined]
      const pairs = symbols.flatMap((symbol) => sets.map((set, s) => ({ symbol, set, s })))
      const runs = pairs.map(({ symbol, set, s }, i) => {
        const pct = market.returnPct?.(start, set, { ...input, strategy_yaml: trainedFrom.get(String(input.model_path)) }) ?? 1
        // n bars (4 by default): the portfolio moves linearly to the fold's return, the price rises 2 %.
        const t0 = Date.parse(`${start}T00:00:00Z`)
        const rows = ['timestamp,price,portfolio_value,position']
        const at = (k: number) => (n > 1 ? k / (n - 1) : 1)
        for (let k = 0; k < n; k++)
          rows.push(
            `${new Date(t0 + k * H).toISOString().replace('.000Z', 'Z')},${1 + 0.02 * at(k)},${100_000 * (1 + (pct / 100) * at(k))},FLAT`,
          )
        const key = `backtests/${request.operation_id}/${symbol}/run_${i}/equity.csv`
        mkdirSync(join(storeDir, 'results', key, '..'), { recursive: true })
        writeFileSync(join(storeDir, 'results', key), rows.join('\n') + '\n')
        return {
          symbol,
          parameter_set: s,
          parameter_set_name: set?.name ?? null,
          start_time: `${start}T00:00:00Z`,
          end_time: new Date(t0 + Math.max(0, n - 1) * H).toISOString().replace('.000Z', 'Z'),
          equity_curve_length: n,
          config: { initial_capital: 100_000 },
          final_equity: 100_000 * (1 + pct / 100),
          metrics: {
            total_return_pct: pct,
            sharpe_ratio: pct / 2,
            max_drawdown_pct: 1,
            win_rate: 0.5,
            total_trades: 10,
            profit_factor: 1.2,
          },
          baselines: {
            buy_and_hold: { market_return_pct: 2, return_pct: 1.5 },
            random_entries: { p50_return_pct: 0.1, percentile: 60, p_value: pct > 5 ? 0.01 : 0.4 },
            verdict: 'no evidence of an edge',
          },
          out_of_sample: {
            in_sample_start: '2020-01-01T00:00:00Z',
            in_sample_end: `${start}T00:00:00Z`,
            overlap_bars: market.overlapBars?.(start) ?? 0,
            checked: true,
          },
          results: { equity_curve_key: key, trades_key: null },
        }
      })
      return { result: { ...runs[0], runs, results_prefix: `backtests/${request.operation_id}` } }
    }
    return { error: { message: `no fake for ${request.function.name}`, code: 'NO_FAKE' } }
  }
}

/** Gateway (research routes, fake registry) with EURUSD 1h data from 2020-01-01 and regime_momentum in its storage. */
export async function startWalkForwardGateway(dir = mkdtempSync(join(tmpdir(), 'ktrdr-wf-')), config: GatewayServerConfig = {}) {
  const g = Object.assign(await startTestGateway({ ...config, routes: researchRoutes }, dir, MANIFESTS), { config })
  const storage = g.gateway.services.storage
  if (!(await storage.strategies.hasItem('regime_momentum.yaml'))) {
    await storage.strategies.setItem('regime_momentum.yaml', await readFile(join(REPO, 'examples/strategies/regime_momentum.yaml'), 'utf8'))
    await saveBars(storage.data, generateSyntheticSeries({ symbol: 'EURUSD', timeframe: '1h', bars: 2500, seed: 1, start: '2020-01-01' }))
  }
  return g
}

export function startFakeTrainingHost(g: { url: string; dir: string }, workerId: string, market?: FakeMarket, slots = 4) {
  return startFakeHost({ gatewayUrl: g.url, workerId, capabilities: { slots }, outcome: fakeOutcome(join(g.dir, 'store'), market) })
}
