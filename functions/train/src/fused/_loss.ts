import type { LoopConfig } from '../config.ts'

/**
 * The losses of ../_losses.ts written out with their gradients w.r.t. the network outputs, over
 * the first `n` rows of `outputs` (n × C). The batch loss is sum / weight (weight = Σ class
 * weights for weighted cross-entropy, n otherwise), so splits evaluated in chunks add up exactly.
 * Writes dLoss/doutput into `grad` unless null; counts hits (argmax, the first maximum wins like
 * tf.argMax; sign agreement for regression).
 */
export type FusedLoss = (
  outputs: Float64Array,
  targets: Float64Array,
  n: number,
  grad: Float64Array | null,
) => { loss: number; sum: number; weight: number; correct: number }

export function createFusedLoss(
  config: Pick<LoopConfig, 'loss' | 'focal_gamma' | 'huber_delta'>,
  numClasses: number,
  classWeights: Float32Array | null,
): FusedLoss {
  if (config.loss === 'huber' || config.loss === 'mse') return regressionLoss(config.loss, Math.fround(config.huber_delta))
  const C = numClasses
  const w = classWeights ?? new Float32Array(C).fill(1)
  const focal = config.loss === 'focal'
  const gamma = config.focal_gamma
  const logp = new Float64Array(C)
  return (z, y, n, grad) => {
    let lossSum = 0
    let alphaSum = 0
    let correct = 0
    for (let i = 0; i < n; i++) {
      const o = i * C
      const t = y[i]
      let max = z[o]
      let arg = 0
      for (let c = 1; c < C; c++)
        if (z[o + c] > max) {
          max = z[o + c]
          arg = c
        }
      if (arg === t) correct++
      let sum = 0
      for (let c = 0; c < C; c++) sum += Math.exp(z[o + c] - max)
      const lse = Math.log(sum)
      for (let c = 0; c < C; c++) logp[c] = z[o + c] - max - lse
      const alpha = w[t]
      const lpT = logp[t]
      // d(loss_i)/d(log p_t); d(log p_t)/dz_c = [c = t] − p_c.
      let dlp: number
      if (focal) {
        const pT = Math.exp(lpT)
        const q = 1 - pT
        lossSum += -alpha * q ** gamma * lpT
        dlp = -alpha * (q ** gamma - gamma * lpT * pT * q ** (gamma - 1))
      } else {
        lossSum += -alpha * lpT
        alphaSum += alpha
        dlp = -alpha
      }
      if (grad) for (let c = 0; c < C; c++) grad[o + c] = dlp * ((c === t ? 1 : 0) - Math.exp(logp[c]))
    }
    // Focal: mean over the batch. Weighted CE: PyTorch's reduction Σ w_y·nll / Σ w_y.
    const weight = focal ? n : alphaSum
    const inv = 1 / Math.max(weight, 1e-12)
    if (grad) for (let j = 0; j < n * C; j++) grad[j] *= inv
    return { loss: lossSum * inv, sum: lossSum, weight, correct }
  }
}

function regressionLoss(kind: 'huber' | 'mse', delta: number): FusedLoss {
  return (z, y, n, grad) => {
    let lossSum = 0
    let correct = 0
    for (let i = 0; i < n; i++) {
      const err = z[i] - y[i]
      if (Math.sign(z[i]) === Math.sign(y[i])) correct++
      if (kind === 'mse') {
        lossSum += err * err
        if (grad) grad[i] = (2 * err) / n
        continue
      }
      const abs = Math.abs(err)
      const quad = Math.min(abs, delta)
      lossSum += 0.5 * quad * quad + delta * (abs - quad)
      if (grad) grad[i] = (abs <= delta ? err : delta * Math.sign(err)) / n
    }
    return { loss: lossSum / n, sum: lossSum, weight: n, correct }
  }
}
