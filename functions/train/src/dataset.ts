import { fitNormalization, applyNormalization, type NormalizationParams } from '../../../trading/index.ts'
import type { BuiltFeatureMatrix } from '../../../trading/index.ts'
import { predictableRows } from '../../../trading/model/index.ts'
import type { LabelSet } from '../../../trading/index.ts'
import { KtrdrError } from '../../../trading/index.ts'
import type { TrainingSet } from './loop.ts'

export interface SymbolData {
  symbol: string
  matrix: BuiltFeatureMatrix
  labels: LabelSet
}

export interface SplitOptions {
  split: { train: number; validation: number; test: number }
  sequenceLength: number
  /**
   * Extra rows dropped before each split boundary, as a share of the symbol's rows, on top of
   * the purge (triple barrier's `embargo_pct`). The purge itself always applies (see below).
   */
  embargoPct?: number
  useSampleWeights?: boolean
}

/** What the purge removed, per symbol and in total: the counts the result reports. */
export interface PurgeReport {
  /** Training labels that read bars of the validation split (or lie inside the embargo). */
  train: number
  /** Validation labels that read bars of the test split (or lie inside the embargo). */
  validation: number
  /** Test labels the data ends before settling (zigzag's unfinished last leg): kept, counted. */
  unsettled: number
  embargo_rows: number
}

export interface PreparedSet {
  set: TrainingSet
  normalization: NormalizationParams
  perSymbol: Array<{
    symbol: string
    rows: number
    train: number
    validation: number
    test: number
    firstRow: number
    purged: PurgeReport
    boundaries: { validation: number; test: number }
    /** Bar open times (ms) from the first training sample to the last bar any kept training or validation label reads: what the model has seen. */
    in_sample: { start_ms: number; end_ms: number } | null
  }>
  purged: PurgeReport
}

function hasLabel(labels: LabelSet, r: number): boolean {
  if (r >= labels.length) return false
  const v = labels.values[r]
  return Number.isFinite(v) && (labels.kind === 'regression' || v >= 0)
}

/**
 * Stacks the symbols' feature rows (symbol A, then B, …), each with its own labels [QUIRK 4 fixed],
 * and splits every symbol chronologically train/validation/test, so each split covers each symbol
 * in time order and no window spans two symbols. Normalization is fitted on the training rows of
 * all symbols only, then applied to every row.
 */
export function prepareTrainingSet(data: SymbolData[], options: SplitOptions): PreparedSet {
  if (data.length === 0) throw new KtrdrError({ code: 'NO_SYMBOLS', message: 'No symbols to train on' })
  const cols = data[0].matrix.cols
  for (const d of data) {
    if (d.matrix.cols !== cols || d.matrix.names.join('\u0000') !== data[0].matrix.names.join('\u0000'))
      throw new KtrdrError({ code: 'FEATURES_MISMATCH', message: `Feature columns of ${d.symbol} differ from ${data[0].symbol}` })
  }
  const rows = data.reduce((a, d) => a + d.matrix.rows, 0)
  const L = options.sequenceLength
  const values = new Float32Array(rows * cols)
  const targets = new Float32Array(rows).fill(Number.NaN)
  const weights = options.useSampleWeights && data.some((d) => d.labels.weights) ? new Float64Array(rows) : null
  const train: number[] = []
  const validation: number[] = []
  const test: number[] = []
  const perSymbol: PreparedSet['perSymbol'] = []
  let offset = 0
  for (const d of data) {
    const m = d.matrix
    values.set(m.values, offset * cols)
    for (let r = 0; r < m.rows; r++) if (hasLabel(d.labels, r)) targets[offset + r] = d.labels.values[r]
    if (weights && d.labels.weights)
      for (let r = 0; r < Math.min(m.rows, d.labels.weights.length); r++) weights[offset + r] = d.labels.weights[r]
    // Samples: rows with a label whose whole window is finite; runs reset at the symbol start.
    const candidates = predictableRows({ values, cols }, offset + m.rows, L, offset, offset + m.rows).filter((r) =>
      Number.isFinite(targets[r]),
    )
    const n = candidates.length
    const nTrain = Math.floor(n * options.split.train)
    const nVal = Math.floor(n * (options.split.train + options.split.validation)) - nTrain
    // Purge at every boundary, for every label source: a label is kept only if the last bar it
    // reads (resolvedAt) lies before the first row of the next split, so rewriting every bar
    // from that row on cannot change it. Without this, forward-return labels near the boundary
    // read the next split's prices in every run and zigzag legs hundreds of bars into it.
    const settled = d.labels.resolvedAt
    const end = offset + m.rows
    const embargo = Math.floor((options.embargoPct ?? 0) * m.rows)
    const report: PurgeReport = { train: 0, validation: 0, unsettled: 0, embargo_rows: embargo }
    const keep = (from: number, to: number, boundary: number, kind: 'train' | 'validation' | null) => {
      const out: number[] = []
      for (let k = from; k < to; k++) {
        const r = candidates[k]
        const at = settled[r - offset] + offset
        if (kind && (at >= boundary || r >= boundary - embargo)) {
          report[kind]++
          continue
        }
        // Test labels the data ends before settling (zigzag's unfinished last leg) stay, as
        // KTRDR labels them, and are counted: nothing follows the test split for them to leak.
        if (at >= end) report.unsettled++
        out.push(r)
      }
      return out
    }
    const valStart = nTrain < n ? candidates[nTrain] : end
    const testStart = nTrain + nVal < n ? candidates[nTrain + nVal] : end
    const trainPart = keep(0, nTrain, valStart, 'train')
    const valPart = keep(nTrain, nTrain + nVal, testStart, 'validation')
    const testPart = keep(nTrain + nVal, n, end, null)
    train.push(...trainPart)
    validation.push(...valPart)
    test.push(...testPart)
    let lastRead = -1
    for (const r of trainPart) lastRead = Math.max(lastRead, settled[r - offset])
    for (const r of valPart) lastRead = Math.max(lastRead, settled[r - offset])
    const inSample =
      trainPart.length && lastRead >= 0 ? { start_ms: m.time[trainPart[0] - offset], end_ms: m.time[Math.min(lastRead, m.rows - 1)] } : null
    perSymbol.push({
      symbol: d.symbol,
      rows: m.rows,
      train: trainPart.length,
      validation: valPart.length,
      test: testPart.length,
      firstRow: offset,
      purged: report,
      boundaries: { validation: valStart - offset, test: testStart - offset },
      in_sample: inSample,
    })
    offset += m.rows
  }
  if (train.length === 0 || validation.length === 0 || test.length === 0) {
    throw new KtrdrError({
      code: 'DATA_INSUFFICIENT',
      message: `Not enough labelled bars after warm-up: train ${train.length}, validation ${validation.length}, test ${test.length} samples (${perSymbol.map((p) => `${p.symbol}: ${p.rows} bars`).join(', ')}); widen the date range`,
    })
  }
  // Fit on exactly the rows training windows read.
  const fitRows: number[] = []
  const seen = new Uint8Array(rows)
  for (const end of train)
    for (let r = end - L + 1; r <= end; r++)
      if (!seen[r]) {
        seen[r] = 1
        fitRows.push(r)
      }
  fitRows.sort((a, b) => a - b)
  const fitValues = new Float32Array(fitRows.length * cols)
  fitRows.forEach((r, i) => fitValues.set(values.subarray(r * cols, (r + 1) * cols), i * cols))
  const names = data[0].matrix.names
  const fitted = fitNormalization(
    { names, rows: fitRows.length, cols, values: fitValues, time: new Float64Array(fitRows.length), firstValidRow: 0 },
    fitRows.length,
    data[0].matrix.normalization,
  )
  // The fit ran on a compacted copy: record the stacked rows it read, not the copy's 0..count.
  const normalization: NormalizationParams = {
    ...fitted,
    fitted_rows: { start: fitRows[0], end: fitRows[fitRows.length - 1] + 1, count: fitRows.length },
  }
  const stacked = { names, rows, cols, values, time: new Float64Array(rows), firstValidRow: 0 }
  applyNormalization(stacked, normalization)
  return {
    set: {
      values,
      cols,
      rows,
      targets,
      train: Int32Array.from(train),
      validation: Int32Array.from(validation),
      test: Int32Array.from(test),
      sampleWeights: weights,
    },
    normalization,
    perSymbol,
    purged: perSymbol.reduce<PurgeReport>(
      (a, p) => ({
        train: a.train + p.purged.train,
        validation: a.validation + p.purged.validation,
        unsettled: a.unsettled + p.purged.unsettled,
        embargo_rows: Math.max(a.embargo_rows, p.purged.embargo_rows),
      }),
      { train: 0, validation: 0, unsettled: 0, embargo_rows: 0 },
    ),
  }
}
