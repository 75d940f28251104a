import type { ModelSpec } from './spec.ts'

export type ModelOutputType = 'classification' | 'regression' | 'context_classification' | 'regime_classification'

/**
 * `metadata.json` of a model version: everything inference needs besides the weights, so a
 * backtest never re-reads the strategy file (it may have changed since).
 */
export interface ModelMetadata {
  format: 'ktrdr-tfjs-1'
  /** `<strategy>/<timeframe>_v<N>` */
  model_name: string
  strategy_name: string
  strategy_version: string
  created_at: string
  model_type: ModelSpec['type']
  sequence_length: number | null
  output_type: ModelOutputType
  /** Everything buildModel needs to rebuild the same architecture. */
  spec: ModelSpec
  /** Canonical feature order: column i of the network input. */
  resolved_features: string[]
  /** As returned by the core's normalisation fit on the training split; applied before predict. */
  normalization_params: unknown
  strategy_yaml: string
  /** The parsed `decisions` section, for the decision layer (docs/domain.md#decision-logic). */
  decisions: Record<string, unknown>
  /** The resolved `training.labels` config. */
  labels: Record<string, unknown>
  training: Record<string, unknown>
  training_symbols: string[]
  training_timeframes: string[]
  base_timeframe: string
  data: {
    start_date: string | null
    end_date: string | null
    /** sha256 over the bars actually used (symbol by symbol, timeframe by timeframe). */
    sha256: string
    synthetic: boolean
    samples: { train: number; validation: number; test: number }
    /**
     * Per symbol, the bars training and model selection saw (ISO times, first training sample to
     * the last bar a kept training or validation label reads). Backtests compare their window
     * with it; absent in models trained before it was recorded (then start/end_date apply).
     */
    in_sample?: Record<string, { start: string; end: string }>
    /** Labels dropped at the split boundaries (see docs/decisions.md, "Purge at every boundary"). */
    purged?: { train: number; validation: number; unsettled: number; embargo_rows: number }
  }
  seed: number
  backend: string
  package_versions: Record<string, string>
  operation_id?: string
  /**
   * sha256 and size of model.json and weights.bin as saved, checked at load (MODEL_CORRUPT when
   * they differ). Absent in models saved before it was recorded; those load with a warning.
   */
  artifacts?: Record<string, { sha256: string; bytes: number }>
}
