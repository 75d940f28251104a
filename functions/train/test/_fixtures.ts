import { resolve } from 'node:path'
import { createSeries } from '../../../trading/index.ts'
import { saveBars } from '../../../trading/index.ts'
import { generateSyntheticSeries } from '../../../trading/index.ts'
import { createTempStorage as createTempKtrdrStorage } from '../../../runtime/function/index.ts'
import type { KtrdrStorage } from '../../../storage/index.ts'
import { mulberry32 } from '../../../trading/index.ts'
import type { TrainingConfig } from '../../../trading/index.ts'
import { resolveLoopConfig, type LoopConfig } from '../src/config.ts'
import type { TrainingSet } from '../src/loop.ts'

/** Copies of the reference strategies (shared/reference/strategies) kept in the repository. */
export const REFERENCE_DIR = resolve(import.meta.dirname, '../../../examples/strategies')
export const RANGE = { start_date: '2019-01-01', end_date: '2035-12-31' }

export const createTempStorage = () => createTempKtrdrStorage('ktrdr-train-')

export async function storeSynthetic(storage: KtrdrStorage, symbol: string, timeframe: string, bars: number, seed = 7): Promise<void> {
  await saveBars(storage.data, generateSyntheticSeries({ symbol, timeframe, bars, seed, start: '2020-01-01' }))
}

/**
 * A market with a planted, learnable structure: price oscillates (period 120 bars, ±3 %) with
 * small noise, so zigzag legs alternate and RSI-based fuzzy inputs tell rising from falling legs.
 */
export async function storePlantedSine(storage: KtrdrStorage, symbol: string, bars: number, seed = 3): Promise<void> {
  const s = createSeries(symbol, '1h', bars)
  const rng = mulberry32(seed)
  const t0 = Date.UTC(2020, 0, 1)
  let prev = 1.1
  for (let i = 0; i < bars; i++) {
    const close = 1.1 * (1 + 0.03 * Math.sin((2 * Math.PI * i) / 120)) * (1 + (rng() - 0.5) * 0.002)
    s.time[i] = t0 + i * 3_600_000
    s.open[i] = prev
    s.close[i] = close
    s.high[i] = Math.max(prev, close) * (1 + rng() * 0.0005)
    s.low[i] = Math.min(prev, close) * (1 - rng() * 0.0005)
    s.volume[i] = 1000 + Math.floor(rng() * 100)
    prev = close
  }
  await saveBars(storage.data, s)
}

/** What a test or bench sets of the strategy's `training` section; the rest keeps {@link strategyTraining}'s values. */
export type TrainingSectionOverrides = Partial<Omit<TrainingConfig, 'sources'>>

/**
 * A strategy's resolved `training` section as the parser hands it to train: supervised zigzag
 * labels, 8 epochs of Adam at 0.01, batch 64, clip 1. Every option counts as set by the strategy
 * but weight decay, which is the trainer's default unless the overrides name it.
 */
export function strategyTraining(over: TrainingSectionOverrides = {}): TrainingConfig {
  return {
    method: 'supervised',
    labels: { source: 'zigzag', zigzag_threshold: 0.02, label_lookahead: null },
    epochs: 8,
    learning_rate: 0.01,
    batch_size: 64,
    loss: 'cross_entropy',
    focal_gamma: 2,
    huber_delta: 0.01,
    data_split: { train: 0.7, validation: 0.15, test: 0.15 },
    early_stopping: null,
    lr_scheduler: null,
    gradient_clip: 1,
    optimizer: 'adam',
    weight_decay: 0,
    ...over,
    sources: {
      epochs: 'training',
      learning_rate: 'training',
      batch_size: 'training',
      optimizer: 'training',
      weight_decay: over.weight_decay === undefined ? 'default' : 'training',
      gradient_clip: 'training',
      early_stopping: 'training',
      lr_scheduler: 'training',
    },
  }
}

/** The loop's config from {@link strategyTraining}, then `loop` laid over what the loop resolved. */
export function loopConfig(
  training: TrainingSectionOverrides = {},
  loop: Partial<LoopConfig> = {},
  outputKind: 'classification' | 'regression' = 'classification',
): LoopConfig {
  return { ...resolveLoopConfig(strategyTraining(training), outputKind), ...loop }
}

/**
 * `rows` × `cols` features uniform in [-1, 1) with a rule planted on s = x0 + x1: BUY (0) when
 * s > `buy`, SELL (2) when s < `sell`, else HOLD (1); the other columns are noise. With
 * `regression`, the target is 0.02·s plus a little noise instead. Split 70/15/15 in row order.
 */
export function plantedSet(
  rows: number,
  seed: number,
  { cols = 8, buy = 0.6, sell = -0.6, regression = false }: { cols?: number; buy?: number; sell?: number; regression?: boolean } = {},
): TrainingSet {
  const rng = mulberry32(seed)
  const values = new Float32Array(rows * cols)
  const targets = new Float32Array(rows)
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) values[r * cols + c] = rng() * 2 - 1
    const s = values[r * cols] + values[r * cols + 1]
    targets[r] = regression ? 0.02 * s + 0.002 * (rng() - 0.5) : s > buy ? 0 : s < sell ? 2 : 1
  }
  const idx = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i)
  const n = Math.floor(rows * 0.7)
  const v = Math.floor(rows * 0.85)
  return { values, cols, rows, targets, train: idx(0, n), validation: idx(n, v), test: idx(v, rows) }
}
