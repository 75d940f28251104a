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

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]
}
