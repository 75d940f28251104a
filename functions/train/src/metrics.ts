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
  /** The class that baseline predicts. */
  majority_class: string
  /** Mean recall over the classes present: 1/classes for any constant predictor. */
  balanced_accuracy: number
  /** Unweighted mean F1 over the classes present. */
  macro_f1: number
  /** The same three figures for "always the majority class", to read beside them. */
  baseline: { accuracy: number; balanced_accuracy: number; macro_f1: number }
  /** test_accuracy − majority_baseline: ≤ 0 means no skill beyond the class shares. */
  edge_over_majority: number
}

export interface RegressionBaseline {
  mae: number
  rmse: number
  directional_accuracy: number
}

export interface RegressionMetrics {
  test_accuracy: number
  directional_accuracy: number
  test_loss: number
  mae: number
  rmse: number
  /**
   * Predictors that need no model: `zero_return` (always 0; its directional accuracy is that of
   * always calling the more frequent sign), and `last_return` (the return just realised over the
   * same horizon, i.e. the label that settled at this bar). A model is worth something only
   * where it beats both.
   */
  baselines: { zero_return: RegressionBaseline; last_return: RegressionBaseline | null }
}

const LABELS: Record<number, string[]> = { 3: ['BUY', 'HOLD', 'SELL'] }

export function classificationMetrics(
  logits: Float32Array,
  targets: ArrayLike<number>,
  numClasses: number,
  testLoss: number,
  labelNames: string[] | undefined = LABELS[numClasses],
): ClassificationMetrics {
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
  const weighted = (k: 'precision' | 'recall' | 'f1_score') => (n ? per_class.reduce((a, p) => a + p[k] * p.support, 0) / n : 0)
  const present = per_class.filter((p) => p.support > 0)
  const top = per_class.reduce((a, p) => (p.support > a.support ? p : a), per_class[0])
  const majority = n ? top.support / n : 0
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0)
  // Always-majority: recall 1 on its class, 0 elsewhere; precision = its share; F1 = 2p/(1+p).
  const baseline = {
    accuracy: majority,
    balanced_accuracy: present.length ? 1 / present.length : 0,
    macro_f1: present.length ? (2 * majority) / (1 + majority) / present.length : 0,
  }
  const accuracy = n ? correct / n : 0
  return {
    test_accuracy: accuracy,
    test_loss: testLoss,
    precision: weighted('precision'),
    recall: weighted('recall'),
    f1_score: weighted('f1_score'),
    confusion_matrix: cm,
    per_class,
    majority_baseline: majority,
    majority_class: top.label,
    balanced_accuracy: mean(present.map((p) => p.recall)),
    macro_f1: mean(present.map((p) => p.f1_score)),
    baseline,
    edge_over_majority: accuracy - majority,
  }
}

function errors(predict: (i: number) => number, targets: ArrayLike<number>): RegressionBaseline {
  const n = targets.length
  let abs = 0,
    sq = 0,
    dir = 0
  for (let i = 0; i < n; i++) {
    const p = predict(i)
    const e = p - targets[i]
    abs += Math.abs(e)
    sq += e * e
    if (Math.sign(p) === Math.sign(targets[i])) dir++
  }
  return { mae: n ? abs / n : 0, rmse: n ? Math.sqrt(sq / n) : 0, directional_accuracy: n ? dir / n : 0 }
}

/** `lastReturn[i]`: the return realised over the label's horizon up to sample i's bar (NaN where unknown: counted as 0). */
export function regressionMetrics(
  predictions: Float32Array,
  targets: ArrayLike<number>,
  testLoss: number,
  lastReturn?: ArrayLike<number>,
): RegressionMetrics {
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
  let up = 0,
    down = 0
  for (let i = 0; i < n; i++)
    if (targets[i] > 0) up++
    else if (targets[i] < 0) down++
  const zero = { ...errors(() => 0, targets), directional_accuracy: n ? Math.max(up, down) / n : 0 }
  const last = lastReturn ? errors((i) => (Number.isFinite(lastReturn[i]) ? lastReturn[i] : 0), targets) : null
  return {
    test_accuracy: directional,
    directional_accuracy: directional,
    test_loss: testLoss,
    mae: n ? abs / n : 0,
    rmse: n ? Math.sqrt(sq / n) : 0,
    baselines: { zero_return: zero, last_return: last },
  }
}
