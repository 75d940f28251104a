// Shared by the CLI commands that talk to a running gateway (workers, ops, invoke, fn, …).
import { gatewayRequest, GatewayStatusError, type GatewayRequestOptions } from './_request.ts'

export const apiArgs = {
  url: { type: 'string', description: 'Gateway URL (default: KTRDR_API_URL or http://127.0.0.1:8000)' },
  json: { type: 'boolean', description: 'Print raw JSON' },
} as const

export function useGatewayUrl(url?: string): string {
  return (url || process.env.KTRDR_API_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '')
}

/** Requests to the gateway with KTRDR_API_TOKEN; errors carry the gateway's message. */
export function useGatewayApi(url?: string) {
  const base = useGatewayUrl(url)
  const token = process.env.KTRDR_API_TOKEN
  return Object.assign(
    async <T = any>(path: string, opts: GatewayRequestOptions = {}): Promise<T> => {
      try {
        return await gatewayRequest<T>(new URL(`${base}${path}`), {
          ...opts,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers },
        })
      } catch (error) {
        if (!(error instanceof GatewayStatusError))
          throw new Error(
            `Cannot reach the gateway at ${base}: ${(error as Error).message}. Start one with \`ktrdr up\` or set KTRDR_API_URL`,
          )
        const message = (error.data as { message?: unknown } | undefined)?.message
        if (message) throw new Error(`${message} (HTTP ${error.statusCode})`)
        throw error
      }
    },
    { base, token },
  )
}

/** Runs a command body; prints the message and exits non-zero instead of a stack trace. */
export async function guard(fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (error) {
    console.error(`error: ${(error as Error).message}`)
    process.exitCode = 1
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
