// Shared by the CLI commands that talk to a running gateway (workers, ops, invoke, fn, …).
import { ofetch, type FetchError } from 'ofetch'

export const apiArgs = {
  url: { type: 'string', description: 'Gateway URL (default: KTRDR_API_URL or http://127.0.0.1:8000)' },
  json: { type: 'boolean', description: 'Print raw JSON' },
} as const

export function useGatewayUrl(url?: string): string {
  return (url || process.env.KTRDR_API_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '')
}

/** ofetch bound to the gateway with KTRDR_API_TOKEN; errors carry the gateway's message. */
export function useGatewayApi(url?: string) {
  const base = useGatewayUrl(url)
  const token = process.env.KTRDR_API_TOKEN
  const api = ofetch.create({ baseURL: base, headers: token ? { authorization: `Bearer ${token}` } : {}, retry: 0 })
  return Object.assign(
    async <T = any>(path: string, opts: Parameters<typeof api>[1] = {}): Promise<T> => {
      try {
        return (await api<T>(path, opts as any)) as T
      } catch (error) {
        const e = error as FetchError
        if (e.data?.message) throw new Error(`${e.data.message} (HTTP ${e.statusCode})`)
        if (!e.statusCode)
          throw new Error(`Cannot reach the gateway at ${base}: ${e.message}. Start one with \`ktrdr up\` or set KTRDR_API_URL`)
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
