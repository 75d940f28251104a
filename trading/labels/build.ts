import { KtrdrError } from '../_errors.ts'
import type { LabelsConfig } from '../strategy/types.ts'
import type { FeatureMatrix, LabelSet, OhlcvSeries } from '../types.ts'
import { contextLabels, forwardReturnLabels } from './forward-return.ts'
import { tripleBarrierLabels } from './triple-barrier.ts'
import { zigzagLabels } from './zigzag.ts'

/** Labels for one symbol's base-timeframe bars, as the strategy's `training.labels` asks. */
export function buildLabels(config: LabelsConfig, bars: OhlcvSeries): LabelSet {
  switch (config.source) {
    case 'zigzag':
      return zigzagLabels(bars.close, config.zigzag_threshold)
    case 'triple_barrier':
      return tripleBarrierLabels(bars, config)
    case 'forward_return':
      return forwardReturnLabels(bars.close, config.horizon)
    case 'context':
      return contextLabels(bars.close, config.horizon, config.bullish_threshold, config.bearish_threshold)
  }
}

export interface AlignedSet {
  /** Feature rows [0, rows) with values as a view over the source matrix. */
  features: FeatureMatrix
  labels: LabelSet
  /** Row indices (into the aligned set) that carry a label (triple-barrier CUSUM may skip rows). */
  labelled: Int32Array
  /** Labelled rows whose features are all finite: what a trainer can use without filling. */
  usable: Int32Array
}

/**
 * docs/domain.md#feature-label-alignment: labels drop their tail, so the features are cut to the first `labels.length` rows;
 * both then share that length. Warm-up rows stay (NaN until firstValidRow: mask or fill).
 */
export function alignFeaturesAndLabels(features: FeatureMatrix, labels: LabelSet): AlignedSet {
  if (labels.values.length !== features.rows) {
    throw new KtrdrError({
      code: 'LABELS_MISALIGNED',
      message: `labels cover ${labels.values.length} bars but the feature matrix has ${features.rows} rows: compute both from the same base-timeframe series`,
    })
  }
  const rows = Math.min(labels.length, features.rows)
  const idx: number[] = []
  const usable: number[] = []
  const { values, cols } = features
  for (let r = 0; r < rows; r++) {
    if (labels.values[r] !== labels.values[r]) continue
    idx.push(r)
    let ok = true
    for (let c = 0, o = r * cols; c < cols; c++, o++)
      if (!Number.isFinite(values[o])) {
        ok = false
        break
      }
    if (ok) usable.push(r)
  }
  return {
    features: {
      ...features,
      rows,
      values: features.values.subarray(0, rows * features.cols),
      time: features.time.subarray(0, rows),
      firstValidRow: Math.min(features.firstValidRow, rows),
    },
    labels: {
      ...labels,
      values: labels.values.subarray(0, rows),
      length: rows,
      ...(labels.weights ? { weights: labels.weights.subarray(0, rows) } : {}),
      resolvedAt: labels.resolvedAt.subarray(0, rows),
    },
    labelled: Int32Array.from(idx),
    usable: Int32Array.from(usable),
  }
}

/**
 * Multi-symbol training set: each symbol's features with ITS OWN labels (fixing KTRDR's
 * first-symbol-only quirk), stacked vertically in the given order, no shuffling.
 * `offsets[k]` is where symbol k starts.
 */
export function stackAligned(sets: AlignedSet[]): AlignedSet & { offsets: number[] } {
  if (!sets.length) throw new KtrdrError({ code: 'NO_SYMBOLS', message: 'stackAligned needs at least one symbol' })
  const cols = sets[0].features.cols
  const names = sets[0].features.names
  for (const s of sets) {
    if (s.features.cols !== cols || s.features.names.some((n, i) => n !== names[i])) {
      throw new KtrdrError({
        code: 'FEATURES_MISMATCH',
        message: 'every symbol must be built from the same strategy (same feature columns)',
      })
    }
  }
  const rows = sets.reduce((a, s) => a + s.features.rows, 0)
  const values = new Float32Array(rows * cols)
  const time = new Float64Array(rows)
  const labels = new Float64Array(rows)
  const resolvedAt = new Int32Array(rows)
  const anyWeights = sets.some((s) => s.labels.weights)
  const weights = anyWeights ? new Float64Array(rows) : undefined
  const labelled: number[] = []
  const usable: number[] = []
  const offsets: number[] = []
  let r = 0
  for (const s of sets) {
    offsets.push(r)
    values.set(s.features.values, r * cols)
    time.set(s.features.time, r)
    labels.set(s.labels.values, r)
    // Offset like the rows; an unsettled label (≥ its symbol's rows) stays past every boundary.
    for (let i = 0; i < s.features.rows; i++)
      resolvedAt[r + i] = s.labels.resolvedAt[i] >= s.features.rows ? rows : s.labels.resolvedAt[i] + r
    if (weights) {
      if (s.labels.weights) weights.set(s.labels.weights, r)
      else weights.fill(1, r, r + s.features.rows)
    }
    for (const i of s.labelled) labelled.push(i + r)
    for (const i of s.usable) usable.push(i + r)
    r += s.features.rows
  }
  const first = sets[0]
  return {
    features: { names, rows, cols, values, time, firstValidRow: first.features.firstValidRow },
    labels: {
      kind: first.labels.kind,
      values: labels,
      length: rows,
      numClasses: first.labels.numClasses,
      resolvedAt,
      ...(weights ? { weights } : {}),
    },
    labelled: Int32Array.from(labelled),
    usable: Int32Array.from(usable),
    offsets,
  }
}
