// Degenerate training data is said, not hidden: a split with one class, a class too rare to
// learn or score, or too few zigzag legs make every metric of the run meaningless (the audit's
// demo: 8 legs in 8,400 bars, a validation split that was 100 % SELL). Each finding carries a
// label parameter suited to the data's volatility.
import { zigzagPivots, type LabelsConfig } from '../../../trading/index.ts'
import type { TrainingSet } from './loop.ts'

/** A class with fewer samples than this in a split is too rare to learn or to score. */
export const MIN_CLASS_SAMPLES = 20
/** Fewer zigzag legs than this in a split: the split is a handful of trends, not a sample. */
export const MIN_LABEL_LEGS = 5
/** The suggested zigzag threshold aims at legs of about this many bars. */
export const TARGET_BARS_PER_LEG = 48

export interface TrainingWarning {
  code: 'LABELS_ONE_CLASS' | 'LABELS_RARE_CLASS' | 'LABELS_FEW_LEGS'
  split: 'train' | 'validation' | 'test'
  message: string
  details: Record<string, unknown>
  /** Label settings that would give usable data (for these bars). */
  suggestion?: Record<string, number>
}

const SPLITS = ['train', 'validation', 'test'] as const

/** Legs = runs of one non-HOLD class along the split's rows in time order. */
function countLegs(targets: Float32Array, rows: Int32Array, hold: number): number {
  let legs = 0
  let prev = -1
  for (const r of rows) {
    const c = targets[r]
    if (c === hold) continue
    if (c !== prev) legs++
    prev = c
  }
  return legs
}

/**
 * The zigzag threshold (2 significant digits) that cuts `close` into legs of about
 * `barsPerLeg` bars: a bisection on the log scale (fewer legs as the threshold grows).
 */
export function suggestZigzagThreshold(close: Float64Array, barsPerLeg = TARGET_BARS_PER_LEG): number {
  const want = Math.max(2, close.length / barsPerLeg)
  let lo = Math.log(1e-5),
    hi = Math.log(0.5)
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2
    if (zigzagPivots(close, Math.exp(mid)).length - 1 > want) lo = mid
    else hi = mid
  }
  return Number(Math.exp(hi).toPrecision(2))
}

/** Context thresholds at the terciles of the forward returns: three classes of equal size. */
function suggestContextThresholds(close: Float64Array, horizon: number): { bullish_threshold: number; bearish_threshold: number } {
  const r: number[] = []
  for (let t = 0; t + horizon < close.length; t++) r.push(close[t + horizon] / close[t] - 1)
  r.sort((a, b) => a - b)
  const q = (p: number) => r[Math.min(r.length - 1, Math.floor(p * r.length))] ?? 0
  return { bullish_threshold: Number(q(2 / 3).toPrecision(2)), bearish_threshold: Number(q(1 / 3).toPrecision(2)) }
}

export function checkTrainingLabels(
  set: TrainingSet,
  labels: LabelsConfig,
  numClasses: number,
  classNames: string[],
  closes: Float64Array[],
): TrainingWarning[] {
  if (labels.source === 'forward_return') return []
  const out: TrainingWarning[] = []
  // Zigzag's HOLD marks the pivots only: rare by construction, not a finding.
  const hold = 1
  const checked = (c: number) => !(labels.source === 'zigzag' && c === hold)
  let suggestion: Record<string, number> | undefined
  const suggest = () => {
    if (suggestion) return suggestion
    const longest = closes.reduce((a, c) => (c.length > a.length ? c : a), closes[0])
    suggestion =
      labels.source === 'zigzag'
        ? { zigzag_threshold: suggestZigzagThreshold(longest) }
        : labels.source === 'context'
          ? suggestContextThresholds(longest, labels.horizon)
          : {}
    return suggestion
  }
  const hint = () => {
    const s = suggest()
    return Object.keys(s).length
      ? `; try ${Object.entries(s)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')} for this data's volatility`
      : ''
  }
  for (const split of SPLITS) {
    const rows = set[split]
    const counts = new Array<number>(numClasses).fill(0)
    for (const r of rows) counts[set.targets[r]]++
    const byName = Object.fromEntries(counts.map((c, i) => [classNames[i] ?? String(i), c]))
    const present = counts.filter((c, i) => c > 0 && checked(i)).length
    if (present <= 1) {
      out.push({
        code: 'LABELS_ONE_CLASS',
        split,
        details: { counts: byName },
        suggestion: suggest(),
        message: `The ${split} split holds one class (${JSON.stringify(byName)}): its accuracy only measures how often the model calls that class${hint()}`,
      })
      continue
    }
    const rare = counts.map((c, i) => [i, c] as const).filter(([i, c]) => checked(i) && c < MIN_CLASS_SAMPLES)
    if (rare.length) {
      out.push({
        code: 'LABELS_RARE_CLASS',
        split,
        details: { counts: byName, minimum: MIN_CLASS_SAMPLES },
        suggestion: suggest(),
        message: `The ${split} split has fewer than ${MIN_CLASS_SAMPLES} samples of ${rare.map(([i, c]) => `${classNames[i] ?? i} (${c})`).join(', ')}${hint()}`,
      })
    }
    if (labels.source === 'zigzag') {
      const legs = countLegs(set.targets, rows, hold)
      if (legs < MIN_LABEL_LEGS) {
        out.push({
          code: 'LABELS_FEW_LEGS',
          split,
          details: { legs, minimum: MIN_LABEL_LEGS, zigzag_threshold: labels.zigzag_threshold },
          suggestion: suggest(),
          message: `The ${split} split has ${legs} zigzag legs (minimum ${MIN_LABEL_LEGS}) at zigzag_threshold ${labels.zigzag_threshold}${hint()}`,
        })
      }
    }
  }
  return out
}
