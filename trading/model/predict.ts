import type { ModelSpec } from './spec.ts'
import { tf } from './tf.ts'

/** Normalised feature rows, row-major, the layout training and inference share. */
export interface SampleRows {
  values: Float32Array
  cols: number
}

/** Large batches: predict's default of 32 is ~50× slower on wasm (platform notes). */
export const DEFAULT_PREDICT_BATCH = 4096

/**
 * Copies the input of each sample into `out`: for an MLP the row `end`, for LSTM/GRU the window
 * of `sequenceLength` rows ending at `end` (a window's label is the label of its last row, docs/domain.md#network-architectures).
 */
export function fillSampleBatch(
  src: SampleRows,
  endRows: ArrayLike<number>,
  from: number,
  to: number,
  sequenceLength: number,
  out: Float32Array,
): void {
  const { values, cols } = src
  const span = sequenceLength * cols
  for (let i = from; i < to; i++) {
    const start = (endRows[i] - sequenceLength + 1) * cols
    out.set(values.subarray(start, start + span), (i - from) * span)
  }
}

export function sampleShape(spec: Pick<ModelSpec, 'type' | 'sequenceLength' | 'inputSize'>, batch: number): number[] {
  return spec.type === 'mlp' ? [batch, spec.inputSize] : [batch, spec.sequenceLength, spec.inputSize]
}

/**
 * Raw network outputs (logits, or the regression value) for the samples ending at `endRows`,
 * `outputSize` floats per sample. Training's validation/test evaluation and backtest inference
 * both go through here, so what was evaluated is exactly what is traded.
 */
export async function predictRaw(
  model: tf.LayersModel,
  spec: ModelSpec,
  src: SampleRows,
  endRows: ArrayLike<number>,
  options: { batchSize?: number; softmax?: boolean; signal?: AbortSignal } = {},
): Promise<Float32Array> {
  const n = endRows.length
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_PREDICT_BATCH)
  const out = new Float32Array(n * spec.outputSize)
  const scratch = new Float32Array(Math.min(batchSize, n) * spec.sequenceLength * spec.inputSize)
  for (let from = 0; from < n; from += batchSize) {
    options.signal?.throwIfAborted()
    const to = Math.min(n, from + batchSize)
    const size = to - from
    const view = scratch.subarray(0, size * spec.sequenceLength * spec.inputSize)
    fillSampleBatch(src, endRows, from, to, spec.sequenceLength, view)
    const y = tf.tidy(() => {
      const logits = model.apply(tf.tensor(view, sampleShape(spec, size)), { training: false }) as tf.Tensor
      return options.softmax && spec.outputKind === 'classification' ? tf.softmax(logits) : logits
    })
    out.set((await y.data()) as Float32Array, from * spec.outputSize)
    y.dispose()
  }
  return out
}

/**
 * Rows of a matrix that can be predicted: the row and the `sequenceLength − 1` rows before it
 * have every feature finite (warm-up rows and gaps cannot be fed to the network).
 */
export function predictableRows(src: SampleRows, rows: number, sequenceLength: number, from = 0, to = rows): Int32Array {
  const { values, cols } = src
  const ok = new Uint8Array(rows)
  for (let r = from; r < to; r++) {
    let finite = 1
    const base = r * cols
    for (let c = 0; c < cols; c++)
      if (!Number.isFinite(values[base + c])) {
        finite = 0
        break
      }
    ok[r] = finite
  }
  const result: number[] = []
  let run = 0
  for (let r = from; r < to; r++) {
    run = ok[r] ? run + 1 : 0
    if (run >= sequenceLength) result.push(r)
  }
  return Int32Array.from(result)
}
