import type { FunctionContext } from '../../../runtime/function/index.ts'
import type { TfBackendInfo } from '../../../trading/model/index.ts'
import type { ModelSpec } from '../../../trading/model/index.ts'
import type { ResolvedStrategy } from '../../../trading/index.ts'
import type { PreparedSet } from './dataset.ts'
import type { LoadedData } from './inputs.ts'
import type { TrainingPath } from './_engine.ts'
import type { EpochRecord, LoopState } from './loop.ts'
import type { ClassificationMetrics, RegressionMetrics } from './metrics.ts'
import type { TrainInput } from './schema.ts'
import type { TrainingWarning } from './label-checks.ts'

/** The operation result, shaped like KTRDR's training result_summary (docs/domain.md#training-result) plus what we add. */
export interface TrainingResult {
  model_path: string
  model_key: string
  model_version: number
  training_metrics: {
    epochs_trained: number
    epochs_requested: number
    early_stopped: boolean
    best_epoch: number
    final_train_loss: number
    final_train_accuracy: number
    best_train_accuracy: number
    final_val_loss: number
    final_val_accuracy: number
    best_val_accuracy: number
    /** Accuracy of always calling the validation split's most frequent class (null for regression). */
    val_majority_baseline: number | null
    training_time: number
    history: { train_loss: number[]; train_accuracy: number[]; val_loss: number[]; val_accuracy: number[]; learning_rate: number[] }
  }
  test_metrics: ClassificationMetrics | RegressionMetrics
  /** Degenerate-data findings (one class, rare classes, few legs), each with a suggested label parameter. */
  warnings: TrainingWarning[]
  feature_count: number
  epochs_trained: number
  early_stopped: boolean
  backend: string
  /** Who ran the optimisation steps: the fused CPU trainer or tfjs kernels (absent in results stored before there was a choice). */
  training_path?: TrainingPath
  resumed_from: { epoch: number; batch: number } | null
  artifacts: { feature_importance: null; per_symbol_metrics: null }
  model_info: {
    parameters_count: number
    trainable_parameters: number
    architecture: string
    model_type: string
    sequence_length: number | null
  }
  data_summary: {
    symbols: string[]
    timeframes: string[]
    start_date: string | null
    end_date: string | null
    total_samples: number
    feature_count: number
    train_samples: number
    validation_samples: number
    test_samples: number
    data_sha256: string
    synthetic: boolean
    per_symbol: PreparedSet['perSymbol']
    purged: PreparedSet['purged']
  }
  session_info: {
    operation_id: string
    attempt: number
    strategy_name: string
    symbols: string[]
    timeframes: string[]
    training_mode: 'local'
    use_host_service: false
    start_date: string | null
    end_date: string | null
    worker_id: string
    seed: number
  }
  resource_usage: { training_mode: 'local'; backend: string; backend_package: string; gpu: boolean; training_path?: TrainingPath }
}

export function buildTrainingResult(a: {
  ctx: FunctionContext
  input: TrainInput
  strategy: ResolvedStrategy
  range: { start?: string; end?: string }
  bars: LoadedData
  prepared: PreparedSet
  spec: ModelSpec
  params: { total: number; trainable: number }
  backend: TfBackendInfo
  history: EpochRecord[]
  testMetrics: ClassificationMetrics | RegressionMetrics
  state: LoopState
  trainingPath: TrainingPath
  modelKey: string
  version: number
  seconds: number
  resumedFrom: { epoch: number; batch: number } | null
  warnings: TrainingWarning[]
  valMajority: number | null
}): TrainingResult {
  const h = a.history
  const last = h[h.length - 1]
  const td = a.strategy.training_data
  const { set } = a.prepared
  const col = (k: keyof EpochRecord) => h.map((r) => r[k] as number)
  return {
    model_path: `models/${a.modelKey}`,
    model_key: a.modelKey,
    model_version: a.version,
    training_metrics: {
      epochs_trained: h.length,
      epochs_requested: a.input.epochs ?? a.strategy.training.epochs,
      early_stopped: a.state.stopped_early,
      best_epoch: a.state.best_epoch,
      final_train_loss: last.train_loss,
      final_train_accuracy: last.train_accuracy,
      best_train_accuracy: Math.max(...col('train_accuracy')),
      final_val_loss: last.val_loss,
      final_val_accuracy: last.val_accuracy,
      best_val_accuracy: Math.max(...col('val_accuracy')),
      val_majority_baseline: a.valMajority,
      training_time: a.seconds,
      history: {
        train_loss: col('train_loss'),
        train_accuracy: col('train_accuracy'),
        val_loss: col('val_loss'),
        val_accuracy: col('val_accuracy'),
        learning_rate: col('learning_rate'),
      },
    },
    test_metrics: a.testMetrics,
    warnings: a.warnings,
    feature_count: a.spec.inputSize,
    epochs_trained: h.length,
    early_stopped: a.state.stopped_early,
    backend: a.backend.backend,
    training_path: a.trainingPath,
    resumed_from: a.resumedFrom,
    artifacts: { feature_importance: null, per_symbol_metrics: null },
    model_info: {
      parameters_count: a.params.total,
      trainable_parameters: a.params.trainable,
      architecture: `v3_${a.spec.type}`,
      model_type: a.spec.type,
      sequence_length: a.spec.type === 'mlp' ? null : a.spec.sequenceLength,
    },
    data_summary: {
      symbols: td.symbols,
      timeframes: td.timeframes,
      start_date: a.bars.start_date,
      end_date: a.bars.end_date,
      total_samples: set.train.length + set.validation.length + set.test.length,
      feature_count: a.spec.inputSize,
      train_samples: set.train.length,
      validation_samples: set.validation.length,
      test_samples: set.test.length,
      data_sha256: a.bars.sha256,
      synthetic: a.bars.synthetic,
      per_symbol: a.prepared.perSymbol,
      purged: a.prepared.purged,
    },
    session_info: {
      operation_id: a.ctx.operationId,
      attempt: a.ctx.attempt,
      strategy_name: a.strategy.name,
      symbols: td.symbols,
      timeframes: td.timeframes,
      training_mode: 'local',
      use_host_service: false,
      start_date: a.range.start ?? null,
      end_date: a.range.end ?? null,
      worker_id: a.ctx.host.workerId,
      seed: a.input.seed,
    },
    resource_usage: {
      training_mode: 'local',
      backend: a.backend.backend,
      backend_package: a.backend.package,
      gpu: a.backend.gpu,
      training_path: a.trainingPath,
    },
  }
}
