// Test-split metrics (docs/domain.md#test-metrics): sklearn-style weighted precision/recall/F1 (zero_division = 0).

export interface ClassificationMetrics {
  test_accuracy: number
  test_loss: number
  precision: number
  recall: number
  f1_score: number
  confusion_matrix: number[][]
  per_class: Array<{ class: number; label: string; precision: number; recall: number; f1_score: number; support: number }>
  /** Accuracy of always predicting the most frequent test class: what the model must beat. */
  majority_baseline: number
}

export interface RegressionMetrics {
  test_accuracy: number
  directional_accuracy: number
  test_loss: number
  mae: number
  rmse: number
}

const LABELS: Record<number, string[]> = { 3: ['BUY', 'HOLD', 'SELL'] }

export function classificationMetrics(logits: Float32Array, targets: ArrayLike<number>, numClasses: number, testLoss: number, labelNames: string[] | undefined = LABELS[numClasses]): ClassificationMetrics {
  const n = targets.length
  const cm = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0))
  let correct = 0
  for (let i = 0; i < n; i++) {
    let best = 0
    for (let c = 1; c < numClasses; c++) if (logits[i * numClasses + c] > logits[i * numClasses + best]) best = c
    const t = targets[i]
    cm[t][best]++
    if (t === best) correct++
  }
  const per_class = cm.map((row, c) => {
    const tp = row[c]
    const support = row.reduce((a, b) => a + b, 0)
    const predicted = cm.reduce((a, r) => a + r[c], 0)
    const precision = predicted ? tp / predicted : 0
    const recall = support ? tp / support : 0
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0
    return { class: c, label: labelNames?.[c] ?? String(c), precision, recall, f1_score: f1, support }
  })
  const weighted = (k: 'precision' | 'recall' | 'f1_score') => n ? per_class.reduce((a, p) => a + p[k] * p.support, 0) / n : 0
  const majority = n ? Math.max(...per_class.map((p) => p.support)) / n : 0
  return { test_accuracy: n ? correct / n : 0, test_loss: testLoss, precision: weighted('precision'), recall: weighted('recall'), f1_score: weighted('f1_score'), confusion_matrix: cm, per_class, majority_baseline: majority }
}

export function regressionMetrics(predictions: Float32Array, targets: ArrayLike<number>, testLoss: number): RegressionMetrics {
  const n = targets.length
  let abs = 0
  let sq = 0
  let dir = 0
  for (let i = 0; i < n; i++) {
    const e = predictions[i] - targets[i]
    abs += Math.abs(e)
    sq += e * e
    if (Math.sign(predictions[i]) === Math.sign(targets[i])) dir++
  }
  const directional = n ? dir / n : 0
  return { test_accuracy: directional, directional_accuracy: directional, test_loss: testLoss, mae: n ? abs / n : 0, rmse: n ? Math.sqrt(sq / n) : 0 }
}
