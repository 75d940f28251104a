// "Did you mean …?" for a mistyped command or option, on the protocol's one edit distance. Loaded
// only on that error path: the protocol's entry brings zod and the archive reader, which every
// command's start would otherwise pay for.

/**
 * The choices `input` was most likely meant to be, closest first: within 1 edit for names up to 4
 * characters and 2 beyond (a third of a short name is already a different word), or names that
 * start with it (`ktrdr wor` → workers). Empty when nothing is close.
 */
export async function didYouMean(input: string, choices: readonly string[]): Promise<string[]> {
  const { editDistance } = await import('../protocol/index.ts')
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
export async function suggestion(
  input: string,
  choices: readonly string[],
  format: (choice: string) => string = (c) => c,
): Promise<string> {
  const close = (await didYouMean(input, choices)).slice(0, 2).map(format)
  return close.length ? ` Did you mean ${close.join(' or ')}?` : ''
}
