import { BUY, HOLD, SELL, type RawSignals } from './_types.ts'

// Step 1 of docs/domain.md#decision-logic (predict), done once per model output and shared by every parameter set of a
// sweep. The filters of step 2 depend on position and time, so they live in the kernel.

/** Tolerance for "the outputs already sum to 1" (skip softmax). */
const PROB_SUM_TOLERANCE = 1e-4

/**
 * Classification outputs [rows × classes] → argmax signal + confidence. Rows whose values
 * are finite, non-negative and sum to 1 are taken as probabilities; others get a softmax.
 * Any NaN/inf ⇒ HOLD with confidence 0. `nonTrading` (context/regime outputs) ⇒ all HOLD.
 */
export function classifySignals(outputs: Float32Array | Float64Array, rows: number, classes = 3, nonTrading = false): RawSignals {
  const signal = new Int8Array(rows).fill(HOLD)
  const confidence = new Float64Array(rows)
  const probabilities = new Float32Array(rows * 3).fill(Number.NaN)
  if (nonTrading) return { signal, confidence, probabilities }
  if (outputs.length < rows * classes) throw new Error(`model outputs hold ${outputs.length} values, expected ${rows} × ${classes}`)
  for (let i = 0; i < rows; i++) {
    const o = i * classes
    let finite = true
    let sum = 0
    let nonNegative = true
    let max = -Infinity
    for (let k = 0; k < classes; k++) {
      const v = outputs[o + k]
      if (!Number.isFinite(v)) {
        finite = false
        break
      }
      if (v < 0) nonNegative = false
      if (v > max) max = v
      sum += v
    }
    if (!finite) continue
    let best = 0
    let bestP = -1
    let norm = 1
    const isProb = nonNegative && Math.abs(sum - 1) <= PROB_SUM_TOLERANCE
    if (!isProb) {
      norm = 0
      for (let k = 0; k < classes; k++) norm += Math.exp(outputs[o + k] - max)
    }
    for (let k = 0; k < classes; k++) {
      const p = isProb ? outputs[o + k] : Math.exp(outputs[o + k] - max) / norm
      if (k < 3) probabilities[i * 3 + k] = p
      // Strict ">" keeps the first of tied classes, like numpy/torch argmax.
      if (p > bestP) {
        bestP = p
        best = k
      }
    }
    if (!Number.isFinite(bestP) || best > 2) continue
    signal[i] = best === 0 ? BUY : best === 1 ? HOLD : SELL
    confidence[i] = Math.min(Math.max(bestP, 0), 1)
  }
  return { signal, confidence, probabilities }
}

/** Regression: r > T ⇒ BUY, r < −T ⇒ SELL, else HOLD; confidence = min(|r|/(3T), 1). */
export function regressionSignals(predicted: Float32Array | Float64Array, rows: number, threshold: number): RawSignals {
  const signal = new Int8Array(rows).fill(HOLD)
  const confidence = new Float64Array(rows)
  const copy = new Float64Array(rows)
  for (let i = 0; i < rows; i++) {
    const r = predicted[i]
    copy[i] = r
    if (!Number.isFinite(r)) {
      copy[i] = Number.NaN
      continue
    }
    if (r > threshold) signal[i] = BUY
    else if (r < -threshold) signal[i] = SELL
    confidence[i] = Math.min(Math.abs(r) / (3 * threshold), 1)
  }
  return { signal, confidence, predicted: copy }
}

/**
 * Marks rows before `validFrom` as HOLD/0: they are warm-up rows where the model saw
 * incomplete inputs (NaN features, or an LSTM/GRU window not yet full).
 */
export function maskWarmup(signals: RawSignals, validFrom: number): RawSignals {
  const n = Math.min(validFrom, signals.signal.length)
  signals.signal.fill(HOLD, 0, n)
  signals.confidence.fill(0, 0, n)
  return signals
}
