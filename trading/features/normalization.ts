import { KtrdrError } from '../_errors.ts'
import type { NormalizationMethod } from '../strategy/types.ts'
import type { FeatureMatrix } from '../types.ts'

export type FeatureNormalization = { method: 'minmax'; min: number; max: number } | { method: 'zscore'; mean: number; std: number }

/** Persisted next to the model (`normalization_params`); keyed by feature name. */
export interface NormalizationParams {
  version: 1
  /** Rows the parameters were fitted on, for the record: [start, end) and, when not contiguous, how many. */
  fitted_rows: { start: number; end: number; count?: number }
  features: Record<string, FeatureNormalization>
}

export type RowRange = number | { start: number; end: number }

function rowsOf(range: RowRange, total: number): { start: number; end: number } {
  const r = typeof range === 'number' ? { start: 0, end: range } : range
  return { start: Math.max(0, r.start), end: Math.min(total, r.end) }
}

/**
 * Fits min-max / z-score parameters for every raw column whose method is not `none`, on the
 * given rows only (the training split) so validation/test statistics never leak in. NaN rows
 * (warm-up) are skipped. z-score uses the sample std (ddof = 1), as docs/domain.md#normalisation specifies.
 */
export function fitNormalization(
  matrix: FeatureMatrix & { normalization?: NormalizationMethod[] },
  trainRows: RowRange,
  methods = matrix.normalization,
): NormalizationParams {
  if (!methods || methods.length !== matrix.cols) {
    throw new KtrdrError({
      code: 'FEATURES_NO_NORMALIZATION',
      message: 'fitNormalization needs the per-column methods: pass a matrix from buildFeatureMatrix or the methods list',
    })
  }
  const { start, end } = rowsOf(trainRows, matrix.rows)
  const { values, cols } = matrix
  const features: Record<string, FeatureNormalization> = {}
  for (let c = 0; c < cols; c++) {
    const method = methods[c]
    if (method === 'none') continue
    let n = 0,
      min = Infinity,
      max = -Infinity,
      mean = 0,
      m2 = 0
    for (let r = start, o = start * cols + c; r < end; r++, o += cols) {
      const x = values[o]
      if (x !== x) continue
      n++
      if (x < min) min = x
      if (x > max) max = x
      const d = x - mean
      mean += d / n
      m2 += d * (x - mean)
    }
    if (n === 0) {
      throw new KtrdrError({
        code: 'FEATURES_NO_TRAIN_DATA',
        message: `Cannot fit ${method} for ${matrix.names[c]}: no finite value in rows ${start}..${end} (more history or a shorter warm-up needed)`,
      })
    }
    features[matrix.names[c]] = method === 'minmax' ? { method, min, max } : { method, mean, std: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0 }
  }
  return { version: 1, fitted_rows: { start, end }, features }
}

/** In place. Same float32 arithmetic for training and inference, so both see identical inputs. */
export function applyNormalization(matrix: FeatureMatrix, params: NormalizationParams): void {
  const { values, cols, rows } = matrix
  for (const [name, p] of Object.entries(params.features)) {
    const c = matrix.names.indexOf(name)
    if (c < 0) {
      throw new KtrdrError({
        code: 'FEATURES_NORMALIZATION_MISMATCH',
        message: `Normalization parameters name feature "${name}" that the matrix does not have: the model was trained with a different strategy`,
      })
    }
    if (p.method === 'minmax') {
      const span = p.max - p.min
      for (let o = c, r = 0; r < rows; r++, o += cols) {
        const x = values[o]
        values[o] = x !== x ? Number.NaN : span === 0 ? 0 : (x - p.min) / span
      }
    } else {
      const s = p.std
      for (let o = c, r = 0; r < rows; r++, o += cols) {
        const x = values[o]
        values[o] = x !== x ? Number.NaN : s === 0 ? 0 : (x - p.mean) / s
      }
    }
  }
}

/** Replaces NaN by `value` in place (KTRDR's training fills warm-up with 0, docs/domain.md#feature-matrix). */
export function fillMissing(matrix: FeatureMatrix, value = 0): void {
  const v = matrix.values
  for (let i = 0; i < v.length; i++) if (v[i] !== v[i]) v[i] = value
}
