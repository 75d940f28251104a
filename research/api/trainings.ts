import { defineEventHandler, getRouterParam } from 'h3'
import { KtrdrError } from '../../trading/index.ts'
import { MODEL_FILES, TRADING_FUNCTIONS } from '../../trading/index.ts'
import { defineGatewayRoutes, storedSize } from '../../runtime/gateway/index.ts'

type Json = Record<string, any>
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {})
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/**
 * The convenience view (docs/domain.md#training-result) of a finished training: the train function's result
 * (functions/train/src/result.ts, keys as in trading/layout.ts) reduced to the figures a researcher compares between runs.
 */
export default defineGatewayRoutes((router, ctx) => {
  /** Bytes of the saved network (model.json + weights.bin), null when the model is gone. */
  async function modelSize(modelKey: string): Promise<number | null> {
    const base = modelKey.replace(/^models\//, '')
    if (!base || base.split('/').some((s) => s === '..' || s.startsWith('.'))) return null
    let total = 0
    for (const file of MODEL_FILES.network) {
      const size = await storedSize(ctx.storage, 'models', `${base}/${file}`)
      if (size === null) return null
      total += size
    }
    return total
  }

  router.get(
    '/api/v1/trainings/:id/performance',
    defineEventHandler(async (event) => {
      const { op } = await ctx.operations.require(getRouterParam(event, 'id', { decode: true })!)
      if (op.operation_type !== 'training' && op.function.name !== TRADING_FUNCTIONS.train) {
        throw new KtrdrError({
          code: 'NOT_A_TRAINING',
          message: `Operation ${op.operation_id} is a ${op.operation_type} operation, not a training: use GET /api/v1/operations/${op.operation_id}/results`,
        })
      }
      if (op.status !== 'completed') {
        throw new KtrdrError({
          code: op.status === 'pending' || op.status === 'running' ? 'OPERATION_NOT_FINISHED' : 'TRAINING_NOT_COMPLETED',
          message: `Training ${op.operation_id} is ${op.status}: performance exists only for completed trainings${op.status === 'failed' ? ` (see the error with GET /api/v1/operations/${op.operation_id}/results)` : ''}`,
        })
      }
      const r = obj(op.result)
      const tm = obj(r.training_metrics)
      const test = obj(r.test_metrics)
      const info = obj(r.model_info)
      const modelKey = typeof r.model_key === 'string' ? r.model_key : typeof r.model_path === 'string' ? r.model_path : ''
      const seconds = num(tm.training_time)
      return {
        success: true,
        task_id: op.operation_id,
        operation_id: op.operation_id,
        status: op.status,
        model_path: r.model_path ?? null,
        training_metrics: {
          final_train_loss: num(tm.final_train_loss),
          final_val_loss: num(tm.final_val_loss),
          final_train_accuracy: num(tm.final_train_accuracy),
          final_val_accuracy: num(tm.final_val_accuracy),
          epochs_completed: num(tm.epochs_trained) ?? num(r.epochs_trained),
          early_stopped: typeof tm.early_stopped === 'boolean' ? tm.early_stopped : Boolean(r.early_stopped),
          training_time_minutes: seconds === null ? null : seconds / 60,
        },
        test_metrics: {
          test_loss: num(test.test_loss),
          test_accuracy: num(test.test_accuracy),
          precision: num(test.precision),
          recall: num(test.recall),
          f1_score: num(test.f1_score),
          // Regression models (test_accuracy = directional accuracy) report these instead of P/R/F1.
          ...(num(test.mae) !== null ? { mae: num(test.mae), rmse: num(test.rmse) } : {}),
          // Each figure beside what a model-free predictor scores (docs/decisions.md, Training).
          ...(num(test.majority_baseline) !== null
            ? {
                majority_baseline: num(test.majority_baseline),
                balanced_accuracy: num(test.balanced_accuracy),
                macro_f1: num(test.macro_f1),
                baseline: test.baseline ?? null,
              }
            : {}),
          ...(test.baselines ? { baselines: test.baselines } : {}),
        },
        warnings: Array.isArray(r.warnings) ? r.warnings : [],
        model_info: {
          model_size_bytes: modelKey ? await modelSize(modelKey) : null,
          parameters_count: num(info.parameters_count),
          architecture: typeof info.architecture === 'string' ? info.architecture : null,
        },
      }
    }),
  )
})
