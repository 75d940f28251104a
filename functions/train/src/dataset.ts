import { fitNormalization, applyNormalization, type NormalizationParams } from '../../../trading/index.ts'
import type { BuiltFeatureMatrix } from '../../../trading/index.ts'
import { predictableRows } from '../../../trading/model/index.ts'
import type { LabelSet } from '../../../trading/index.ts'
import { KtrdrError } from '../../../runtime/protocol/index.ts'
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
   * Triple-barrier purge (§4.2): training keeps only samples whose label window (row + horizon)
   * ends before validation starts and that lie more than `embargoPct`·N rows before it.
   */
  purge?: { horizon: number; embargoPct: number } | null
  useSampleWeights?: boolean
}

export interface PreparedSet {
  set: TrainingSet
  normalization: NormalizationParams
  perSymbol: Array<{ symbol: string; rows: number; train: number; validation: number; test: number; firstRow: number }>
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
  if (data.length === 0) throw new KtrdrError({ statusCode: 400, code: 'NO_SYMBOLS', message: 'No symbols to train on', retryable: false })
  const cols = data[0].matrix.cols
  for (const d of data) {
    if (d.matrix.cols !== cols || d.matrix.names.join('\u0000') !== data[0].matrix.names.join('\u0000')) throw new Error(`Feature columns of ${d.symbol} differ from ${data[0].symbol}`)
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
    if (weights && d.labels.weights) for (let r = 0; r < Math.min(m.rows, d.labels.weights.length); r++) weights[offset + r] = d.labels.weights[r]
    // Samples: rows with a label whose whole window is finite; runs reset at the symbol start.
    const candidates = predictableRows({ values, cols }, offset + m.rows, L, offset, offset + m.rows).filter((r) => Number.isFinite(targets[r]))
    const n = candidates.length
    const nTrain = Math.floor(n * options.split.train)
    const nVal = Math.floor(n * (options.split.train + options.split.validation)) - nTrain
    let trainPart = Array.from(candidates.subarray(0, nTrain))
    if (options.purge && nTrain < n) {
      const valStart = candidates[nTrain]
      const embargo = Math.floor(options.purge.embargoPct * m.rows)
      trainPart = trainPart.filter((r) => r < valStart - embargo && r + options.purge!.horizon <= valStart)
    }
    const valPart = candidates.subarray(nTrain, nTrain + nVal)
    const testPart = candidates.subarray(nTrain + nVal)
    train.push(...trainPart)
    validation.push(...valPart)
    test.push(...testPart)
    perSymbol.push({ symbol: d.symbol, rows: m.rows, train: trainPart.length, validation: valPart.length, test: testPart.length, firstRow: offset })
    offset += m.rows
  }
  if (train.length === 0 || validation.length === 0 || test.length === 0) {
    throw new KtrdrError({
      statusCode: 422,
      code: 'NOT_ENOUGH_DATA',
      retryable: false,
      message: `Not enough labelled bars after warm-up: train ${train.length}, validation ${validation.length}, test ${test.length} samples (${perSymbol.map((p) => `${p.symbol}: ${p.rows} bars`).join(', ')}); widen the date range`,
    })
  }
  // Fit on exactly the rows training windows read.
  const fitRows: number[] = []
  const seen = new Uint8Array(rows)
  for (const end of train) for (let r = end - L + 1; r <= end; r++) if (!seen[r]) { seen[r] = 1; fitRows.push(r) }
  fitRows.sort((a, b) => a - b)
  const fitValues = new Float32Array(fitRows.length * cols)
  fitRows.forEach((r, i) => fitValues.set(values.subarray(r * cols, (r + 1) * cols), i * cols))
  const names = data[0].matrix.names
  const normalization = fitNormalization({ names, rows: fitRows.length, cols, values: fitValues, time: new Float64Array(fitRows.length), firstValidRow: 0 }, fitRows.length, data[0].matrix.normalization)
  const stacked = { names, rows, cols, values, time: new Float64Array(rows), firstValidRow: 0 }
  applyNormalization(stacked, normalization)
  return {
    set: { values, cols, rows, targets, train: Int32Array.from(train), validation: Int32Array.from(validation), test: Int32Array.from(test), sampleWeights: weights },
    normalization,
    perSymbol,
  }
}
