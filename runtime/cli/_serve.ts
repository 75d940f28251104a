// Shared by the commands that run long-lived servers in the foreground (gateway, host, up).
import { UsageError } from './_errors.ts'

/** `--home`, the storage root, as every server command takes it. */
export const homeArg = { type: 'string', description: 'Storage root (default KTRDR_HOME or ./.ktrdr)' } as const

/** An optional integer flag within [min, max]; the error names the flag. */
export function intArg(
  name: string,
  value: string | undefined,
  range: { min?: number; max?: number; what?: string } = {},
): number | undefined {
  if (value === undefined) return undefined
  const {
    min = 0,
    max = Number.MAX_SAFE_INTEGER,
    what = min === 0 && max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer' : `${min}–${max}`,
  } = range
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be ${what}, got "${value}"`)
  return n
}

/** Comma-separated list flag; undefined when absent or empty. */
export function listArg(value?: string): string[] | undefined {
  return value
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined
}

/**
 * Calls `stop` once, on the first SIGINT or SIGTERM (a second signal while stopping is ignored),
 * then exits 0, or 1 when stopping failed.
 */
export function stopOnSignals(stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    stop(signal).then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
