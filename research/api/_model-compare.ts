// A model version read as the comparison table reads a training result (functions/train/src/result.ts),
// from what the version keeps: metadata.json and metrics.json.
import { obj } from './_runs.ts'

type Json = Record<string, any>

export function modelAsTrainingResult(key: string, metadata: Json | null, metrics: Json | null): Json {
  const meta = obj(metadata)
  const m = obj(metrics)
  const history: Json[] = Array.isArray(m.history) ? m.history.map(obj) : []
  const last = history[history.length - 1] ?? {}
  const seconds = history.reduce((sum, h) => sum + (typeof h.duration === 'number' ? h.duration : 0), 0)
  const samples = obj(obj(meta.data).samples)
  return {
    model_key: key,
    session_info: { strategy_name: meta.strategy_name },
    model_info: { architecture: typeof meta.model_type === 'string' ? `v3_${meta.model_type}` : null },
    data_summary: {
      symbols: meta.training_symbols,
      timeframes: meta.training_timeframes,
      synthetic: obj(meta.data).synthetic,
      train_samples: samples.train,
      validation_samples: samples.validation,
      test_samples: samples.test,
    },
    training_metrics: {
      epochs_trained: history.length || null,
      best_epoch: m.best_epoch,
      final_train_loss: last.train_loss,
      final_val_loss: last.val_loss,
      final_val_accuracy: last.val_accuracy,
      val_majority_baseline: m.val_majority_baseline,
      training_time: seconds > 0 ? seconds : null,
      history: {
        train_loss: history.map((h) => h.train_loss),
        val_loss: history.map((h) => h.val_loss),
        train_accuracy: history.map((h) => h.train_accuracy),
        val_accuracy: history.map((h) => h.val_accuracy),
      },
    },
    test_metrics: obj(m.test_metrics),
  }
}
