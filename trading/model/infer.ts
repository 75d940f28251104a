import { applyNormalization, createKtrdrError, type NormalizationParams } from '../index.ts'
import type { FeatureMatrix } from '../index.ts'
import type { LoadedModel } from './io.ts'
import { predictableRows, predictRaw } from './predict.ts'

export interface Predictions {
  /** rows × outputs, row-major: class probabilities (softmax) or the regression value; NaN where not predictable. */
  values: Float32Array
  outputs: number
  /** Rows that got a prediction (every feature of the row, and of the window for LSTM/GRU, finite). */
  rows: Int32Array
}

/**
 * Runs a loaded model over a whole feature matrix (built with buildFeatureMatrix from the
 * strategy in the model's metadata) in large batches. Normalisation from the metadata is applied
 * here unless the matrix says it already is; columns must match the model's resolved_features.
 * This is the same predict path training used to evaluate validation and test.
 */
export async function predictProbabilities(
  loaded: LoadedModel,
  matrix: FeatureMatrix & { normalized?: boolean },
  options: { batchSize?: number; signal?: AbortSignal; fromRow?: number; toRow?: number } = {},
): Promise<Predictions> {
  const { spec, metadata } = loaded
  const expected = metadata.resolved_features
  if (matrix.cols !== expected.length || matrix.names.some((n, i) => n !== expected[i])) {
    throw createKtrdrError(
      'MODEL_FEATURES_MISMATCH',
      `Feature columns do not match model ${loaded.key}: it expects [${expected.join(', ')}], got [${matrix.names.join(', ')}]; build the matrix from the model's strategy`,
    )
  }
  let values = matrix.values
  const params = metadata.normalization_params as NormalizationParams | null
  if (!matrix.normalized && params && Object.keys(params.features ?? {}).length) {
    values = matrix.values.slice()
    applyNormalization({ ...matrix, values }, params)
  }
  const src = { values, cols: matrix.cols }
  const rows = predictableRows(src, matrix.rows, spec.sequenceLength, options.fromRow ?? 0, options.toRow ?? matrix.rows)
  const raw = await predictRaw(loaded.model, spec, src, rows, { batchSize: options.batchSize, softmax: true, signal: options.signal })
  const out = new Float32Array(matrix.rows * spec.outputSize).fill(Number.NaN)
  for (let i = 0; i < rows.length; i++) out.set(raw.subarray(i * spec.outputSize, (i + 1) * spec.outputSize), rows[i] * spec.outputSize)
  return { values: out, outputs: spec.outputSize, rows }
}
