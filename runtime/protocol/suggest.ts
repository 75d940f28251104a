/**
 * The known name a mistyped one most likely meant, for "did you mean" hints: a prefix relation of
 * at least three characters (`epoch` → `epochs`, `start` → `start_date`), else the nearest name
 * within a small edit distance (`symbl` → `symbol`). Undefined when nothing is close.
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const k = name.toLowerCase()
  const list = [...candidates]
  if (k.length >= 3) {
    const prefix = list.find((c) => c.toLowerCase().startsWith(k) || k.startsWith(c.toLowerCase()))
    if (prefix) return prefix
  }
  let best: string | undefined
  let bestD = Infinity
  for (const c of list) {
    const d = editDistance(k, c.toLowerCase())
    if (d < bestD) {
      bestD = d
      best = c
    }
  }
  return bestD <= Math.max(2, Math.floor(k.length / 3)) && bestD < k.length ? best : undefined
}

/**
 * Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one
 * substring): insertions, deletions, substitutions and swaps of two neighbours each cost 1, so
 * `deplyo` is 1 from `deploy`, where plain Levenshtein says 2. The one distance behind every
 * "did you mean" (gateway inputs, function inputs, strategy parameters, CLI commands).
 */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}
