import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { envNumber } from '../../../runtime/protocol/index.ts'
import { KtrdrError } from '../../../trading/index.ts'
import { DEFAULT_PACING, type PacingLimits } from './pacing.ts'

/** What a host operator may set (all optional; every field has an env variable). */
export interface IbFetchConfig {
  host?: string
  port?: number
  /** "111-120", "111,113" or a single id. */
  clientIds?: string | number[]
  pacingDir?: string
  pacing?: Partial<PacingLimits>
  connectTimeoutMs?: number
  requestTimeoutMs?: number
  connectivityTimeoutMs?: number
  saveIntervalMs?: number
  saveEverySegments?: number
  maxSegmentAttempts?: number
}

export interface ResolvedIbFetchConfig {
  host: string
  port: number
  clientIds: number[]
  /** Ledger shared by every fetch on this host talking to this gateway. */
  pacingPath: string
  /** Head-timestamp cache beside the ledger (1 h TTL, docs/domain.md#ib-pacing). */
  headCachePath: string
  pacing: PacingLimits
  connectTimeoutMs: number
  requestTimeoutMs: number
  connectivityTimeoutMs: number
  saveIntervalMs: number
  saveEverySegments: number
  maxSegmentAttempts: number
}

/**
 * Defaults in one place (docs/domain.md#ib-requests and #ib-pacing): IB Gateway paper port 4002 on loopback, client ids 111–120
 * (the data-acquisition range), periodic save every 30 s (KTRDR_DATA_PERIODIC_SAVE_INTERVAL,
 * seconds, as in the original) or every 10 segments.
 */
export function resolveIbFetchConfig(config: IbFetchConfig = {}, env: NodeJS.ProcessEnv = process.env): ResolvedIbFetchConfig {
  const port = config.port ?? envNumber(env, 'IB_PORT') ?? 4002
  const pacingDir = config.pacingDir ?? env.KTRDR_IB_PACING_DIR ?? tmpdir()
  const saveSeconds = envNumber(env, 'KTRDR_DATA_PERIODIC_SAVE_INTERVAL')
  const resolved: ResolvedIbFetchConfig = {
    host: config.host ?? env.IB_HOST ?? '127.0.0.1',
    port,
    clientIds: parseClientIds(config.clientIds ?? env.IB_CLIENT_ID ?? '111-120'),
    pacingPath: join(pacingDir, `ktrdr-ib-pacing-${port}.json`),
    headCachePath: join(pacingDir, `ktrdr-ib-head-${port}.json`),
    pacing: { ...DEFAULT_PACING, ...config.pacing },
    connectTimeoutMs: config.connectTimeoutMs ?? envNumber(env, 'KTRDR_IB_TIMEOUT_MS') ?? 30_000,
    requestTimeoutMs: config.requestTimeoutMs ?? envNumber(env, 'KTRDR_IB_REQUEST_TIMEOUT_MS') ?? 120_000,
    connectivityTimeoutMs: config.connectivityTimeoutMs ?? 300_000,
    saveIntervalMs: config.saveIntervalMs ?? (saveSeconds !== undefined ? saveSeconds * 1000 : 30_000),
    saveEverySegments: config.saveEverySegments ?? envNumber(env, 'KTRDR_IB_SAVE_EVERY_SEGMENTS') ?? 10,
    maxSegmentAttempts: config.maxSegmentAttempts ?? 3,
  }
  if (!Number.isInteger(resolved.port) || resolved.port <= 0 || resolved.port > 65535) {
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `IB_PORT must be a TCP port, got ${JSON.stringify(port)}`,
    })
  }
  return resolved
}

export function parseClientIds(value: string | number | number[]): number[] {
  if (Array.isArray(value)) return value
  if (typeof value === 'number') return [value]
  const ids: number[] = []
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part)
    if (!m)
      throw new KtrdrError({
        code: 'CONFIG_INVALID',
        message: `IB_CLIENT_ID must look like "111-120" or "111,112", got ${JSON.stringify(value)}`,
      })
    const a = Number(m[1])
    const b = m[2] ? Number(m[2]) : a
    for (let id = Math.min(a, b); id <= Math.max(a, b); id++) ids.push(id)
  }
  if (!ids.length) throw new KtrdrError({ code: 'CONFIG_INVALID', message: 'IB_CLIENT_ID names no client id' })
  return ids
}
