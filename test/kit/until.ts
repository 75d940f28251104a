/** What a truthy check returns: its value without the falsy members of its type. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>

/**
 * Resolves with the first truthy value of `check()`, polled every `everyMs` until `timeoutMs`.
 * For conditions nothing announces (another process's state, a file appearing); where an event
 * or a promise says it, await that instead. A check that throws counts as not yet (a server
 * still starting refuses connections); the timeout's error names `what` and the last error.
 */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 20_000, what = 'condition', everyMs = 25): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as Truthy<T>
      lastError = undefined
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline)
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      )
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
