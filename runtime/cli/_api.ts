// Shared by the CLI commands that talk to a running gateway (workers, ops, invoke, fn, …).
import { createGatewayClient, type GatewayClient } from './_client.ts'
import { reportError } from './_errors.ts'

export const apiArgs = {
  url: { type: 'string', description: 'Gateway URL (default: KTRDR_API_URL or http://127.0.0.1:8000)' },
  json: { type: 'boolean', description: 'Print raw JSON' },
} as const

/** The gateway client of a command: its `--url` (else KTRDR_API_URL) and KTRDR_API_TOKEN. */
export function useGatewayApi(url?: string): GatewayClient {
  return createGatewayClient({ url })
}

/** Runs a command body; prints the message instead of a stack trace and exits 1, or 2 for a UsageError (_errors.ts). */
export async function guard(fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (error) {
    reportError(error)
  }
}

export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? '-' : String(r[c]))))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)))
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')
}
