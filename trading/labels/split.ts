import { KtrdrError } from '../_errors.ts'

export interface SplitRanges {
  /** Half-open row ranges [start, end). */
  train: { start: number; end: number }
  validation: { start: number; end: number }
  test: { start: number; end: number }
}

export interface SplitRatios {
  train: number
  validation: number
  test: number
}

/** docs/domain.md#data-split chronological split (no shuffling): train, then validation, then test. */
export function chronologicalSplit(n: number, ratios: SplitRatios): SplitRanges {
  const trainEnd = Math.floor(n * ratios.train)
  const valEnd = Math.floor(n * (ratios.train + ratios.validation))
  return { train: { start: 0, end: trainEnd }, validation: { start: trainEnd, end: valEnd }, test: { start: valEnd, end: n } }
}

/**
 * docs/domain.md#purged-split for triple-barrier labels: validation+test are the last (val+test) share;
 * training keeps samples i < valStart − embargo whose label window i + maxHold ends by valStart,
 * so no training label peeks into the evaluation period. Embargo defaults to 1% of n.
 */
export function purgedSplit(n: number, ratios: SplitRatios, maxHold: number, embargoPct = 0.01): SplitRanges & { purged: number } {
  const evalShare = ratios.validation + ratios.test
  const valStart = Math.floor(n * (1 - evalShare))
  const embargo = Math.floor(n * embargoPct)
  const trainEnd = Math.max(0, Math.min(valStart - embargo, valStart - maxHold + 1))
  if (trainEnd <= 0) {
    throw new KtrdrError({
      code: 'DATA_INSUFFICIENT',
      message: `purged split leaves no training rows (n=${n}, max_holding_period=${maxHold}, embargo=${embargo}): load more history`,
    })
  }
  const valEnd = evalShare > 0 ? valStart + Math.floor((n - valStart) * (ratios.validation / evalShare)) : n
  return {
    train: { start: 0, end: trainEnd },
    validation: { start: valStart, end: valEnd },
    test: { start: valEnd, end: n },
    purged: valStart - trainEnd,
  }
}
