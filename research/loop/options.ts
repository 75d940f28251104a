import { envNumber } from '../../runtime/protocol/index.ts'

/** Gate thresholds (docs/domain.md#agent-research-loop), each overridable by its environment variable. */
export interface GateOptions {
  training: { minTestAccuracy: number; maxTestLoss: number; minLossDecrease: number; minDirectionalAccuracy: number }
  backtest: { minWinRate: number; maxDrawdownPct: number; minSharpe: number; minReturnPct: number; minTrades: number }
}

export interface ResearchConfig {
  /** Loops running at once; null: registered hosts + 1 (KTRDR_RESEARCH_MAX_CONCURRENT). */
  maxConcurrent?: number | null
  /** LLM tokens (in + out) per model per UTC day (KTRDR_RESEARCH_TOKENS_PER_DAY, default 2,000,000). */
  tokensPerDay?: number
  /** Wall time one loop may take before it is cancelled (KTRDR_RESEARCH_MAX_LOOP_SECONDS, default 6 h). */
  maxLoopSeconds?: number
  /** training.epochs when the request gives none (KTRDR_RESEARCH_EPOCHS, default 5). */
  epochs?: number
  /** Share of the data window used for training; the rest is the held-out backtest (default 0.75). */
  trainFraction?: number
  gates?: { training?: Partial<GateOptions['training']>; backtest?: Partial<GateOptions['backtest']> }
}

export type ResolvedResearchOptions = Required<Omit<ResearchConfig, 'gates'>> & { gates: GateOptions }

/** Research-loop defaults live here and nowhere else: config > env > default. */
export function resolveResearchOptions(config: ResearchConfig = {}, env: NodeJS.ProcessEnv = process.env): ResolvedResearchOptions {
  const n = (name: string, min = 0) => envNumber(env, name, min)
  const signed = (name: string) => envNumber(env, name, -Infinity)
  return {
    maxConcurrent: config.maxConcurrent !== undefined ? config.maxConcurrent : (n('KTRDR_RESEARCH_MAX_CONCURRENT', 1) ?? null),
    tokensPerDay: config.tokensPerDay ?? n('KTRDR_RESEARCH_TOKENS_PER_DAY') ?? 2_000_000,
    maxLoopSeconds: config.maxLoopSeconds ?? n('KTRDR_RESEARCH_MAX_LOOP_SECONDS', 1) ?? 6 * 3600,
    epochs: config.epochs ?? n('KTRDR_RESEARCH_EPOCHS', 1) ?? 5,
    trainFraction: config.trainFraction ?? 0.75,
    gates: {
      training: {
        minTestAccuracy: config.gates?.training?.minTestAccuracy ?? n('KTRDR_GATE_MIN_TEST_ACCURACY') ?? 0.1,
        maxTestLoss: config.gates?.training?.maxTestLoss ?? n('KTRDR_GATE_MAX_TEST_LOSS') ?? 0.8,
        // Train loss may not grow by more than half from the first epoch to the last.
        minLossDecrease: config.gates?.training?.minLossDecrease ?? signed('KTRDR_GATE_MIN_LOSS_DECREASE') ?? -0.5,
        minDirectionalAccuracy: config.gates?.training?.minDirectionalAccuracy ?? n('KTRDR_GATE_MIN_DIRECTIONAL_ACCURACY') ?? 0.5,
      },
      backtest: {
        minWinRate: config.gates?.backtest?.minWinRate ?? n('KTRDR_GATE_MIN_WIN_RATE') ?? 0.1,
        // Our metrics give drawdown in percent (40 = 40 %), the original's 0.40.
        maxDrawdownPct: config.gates?.backtest?.maxDrawdownPct ?? n('KTRDR_GATE_MAX_DRAWDOWN_PCT') ?? 40,
        minSharpe: config.gates?.backtest?.minSharpe ?? signed('KTRDR_GATE_MIN_SHARPE') ?? -0.5,
        minReturnPct: config.gates?.backtest?.minReturnPct ?? signed('KTRDR_GATE_MIN_RETURN_PCT') ?? 0,
        minTrades: config.gates?.backtest?.minTrades ?? n('KTRDR_GATE_MIN_TRADES') ?? 5,
      },
    },
  }
}
