// How the CLI ends on an error: one line on stderr, no stack, and an exit code that tells a
// script what went wrong. 2: the command line itself (unknown command or option, a missing
// argument, a flag value out of range), so retrying the same line is pointless. 1: the command
// ran and failed (the gateway refused or is not there, a file is missing, a build broke).

export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/**
 * A command line that cannot run as written. A plain Error subclass rather than a KtrdrError:
 * the protocol's entry (zod, the archive reader) would load into every command's start.
 */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** citty's own usage errors (unknown command, missing positional, enum value) are `CLIError`s. */
export function isCittyUsageError(error: unknown): boolean {
  return error instanceof Error && error.name === 'CLIError'
}

export function isUsageError(error: unknown): boolean {
  return error instanceof UsageError || isCittyUsageError(error)
}

export function exitCodeOf(error: unknown): number {
  return isUsageError(error) ? EXIT_USAGE : EXIT_FAILURE
}

/** `error: <message>` on stderr (escape sequences removed) and the exit code the error calls for. */
export function reportError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error)
  console.error(`error: ${stripAnsi(message)}`)
  process.exitCode = exitCodeOf(error)
}

/** Text without SGR escape sequences (colours, bold, underline), which citty puts in its messages and usage. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001B\[[\d;]*m/g, '')
}

/**
 * Whether to colour what goes to `stream`: only a terminal, and not under NO_COLOR (any non-empty
 * value, no-color.org) or TERM=dumb. citty decides once, from NO_COLOR=1, TERM, CI and TEST only,
 * so piped help would carry escape codes; the runner strips them where this says no.
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb'
}
