// "Did you mean …?" for a mistyped command or option.

/**
 * Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one
 * substring): insertions, deletions, substitutions and swaps of two neighbours each cost 1, so
 * `deplyo` is 1 from `deploy`, where plain Levenshtein says 2.
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

/**
 * The choices `input` was most likely meant to be, closest first: within 1 edit for names up to 4
 * characters and 2 beyond (a third of a short name is already a different word), or names that
 * start with it (`ktrdr wor` → workers). Empty when nothing is close.
 */
export function didYouMean(input: string, choices: readonly string[]): string[] {
  const typed = input.toLowerCase()
  const limit = typed.length <= 4 ? 1 : 2
  return choices
    .map((choice) => {
      const distance = editDistance(typed, choice.toLowerCase())
      const prefix = typed.length >= 3 && choice.toLowerCase().startsWith(typed)
      return { choice, distance, close: distance <= limit || prefix }
    })
    .filter((c) => c.close)
    .sort((x, y) => x.distance - y.distance || (x.choice < y.choice ? -1 : 1))
    .map((c) => c.choice)
}

/** ` Did you mean X?` / ` Did you mean X or Y?`, or nothing: appended to an error message. */
export function suggestion(input: string, choices: readonly string[], format: (choice: string) => string = (c) => c): string {
  const close = didYouMean(input, choices).slice(0, 2).map(format)
  return close.length ? ` Did you mean ${close.join(' or ')}?` : ''
}
