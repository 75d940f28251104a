import { resolve } from 'node:path'
import { KtrdrError, envNumber, parseLogLevel, resolveLogFormat, type LogFormat } from '../protocol/index.ts'
import type { StorageConfig } from '../../storage/index.ts'

/** What a user, a CLI flag or a test says. Everything is optional; env fills the rest. */
export interface GatewayConfig {
  host?: string
  /** 0 picks a free port (tests). */
  port?: number
  /** SQLite file on the gateway's local disk; ':memory:' for throwaway gateways. */
  dbPath?: string
  /** postgres://… : keep the state in PostgreSQL instead (active/standby gateways); null: SQLite. */
  databaseUrl?: string | null
  /** When a commit counts as done (see DbSync); null: the backend's own default. */
  dbSync?: DbSync | null
  /** The URL clients and hosts reach this gateway at, told to them by a standby (default: the listen URL). */
  publicUrl?: string | null
  leader?: Partial<LeaderOptions>
  storage?: StorageConfig
  apiToken?: string | null
  clusterToken?: string | null
  /** Allow a non-loopback bind without tokens. */
  insecure?: boolean
  health?: Partial<HealthOptions>
  queue?: Partial<QueueOptions>
  /** Largest JSON body accepted (bytes); larger → 413. */
  maxBodyBytes?: number
  /** Largest bundle upload accepted (bytes). */
  maxBundleBytes?: number
  /** Versions per function `POST /api/v1/functions/gc` keeps when the request does not say. */
  functionKeepLast?: number
  /** Silence request/lifecycle logs (tests, benches). */
  quiet?: boolean
  /** consola level or LOG_LEVEL's words (info; debug adds one access line per request). */
  logLevel?: string | number
  /** KTRDR_LOG_FORMAT: text (default) or json, one object a line for journald/Loki. */
  logFormat?: LogFormat
  retention?: Partial<RetentionOptions>
  logs?: Partial<LogOptions>
  /** GET /metrics without a token (KTRDR_METRICS_PUBLIC=1); default: the API token. */
  metricsPublic?: boolean
  /** Origins browsers may call from (KTRDR_CORS_ORIGINS, comma-separated, or `*`); none by default. */
  corsOrigins?: string[]
  /** Key for function secrets at rest (32 bytes, base64 or hex); default: a generated 0600 key file beside the database. */
  secretsKey?: string | null
}

/**
 * How far a commit goes before the gateway acknowledges it (KTRDR_DB_SYNC).
 * - `normal`: written to the operating system, not fsynced: survives a crash or SIGKILL of the
 *   gateway, not a power loss of its machine. SQLite `synchronous=NORMAL` (WAL: fsync only at
 *   checkpoints); PostgreSQL `synchronous_commit=off` (which also loses the last ≈0.6 s of commits
 *   when the PostgreSQL server itself crashes).
 * - `full`: fsynced before the answer: survives a power loss. SQLite `synchronous=FULL` (the WAL is
 *   fsynced at every commit, one per group commit); PostgreSQL `synchronous_commit=on`.
 */
export type DbSync = 'normal' | 'full'

export interface LeaderOptions {
  /** A standby tries to take the PostgreSQL advisory lock this often. */
  retryMs: number
  /** The active checks its lock connection this often; a failed check makes it step down. */
  checkMs: number
}

export interface RetentionOptions {
  /** Finished operations older than this many days are deleted; 0 keeps them forever. */
  days: number
  /** How often the purge runs (it also runs at start). */
  intervalMs: number
}

/** How much of what functions write is kept per operation (the newest lines; docs/operations.md#logs). */
export interface LogOptions {
  maxLines: number
  maxBytes: number
}

export interface HealthOptions {
  /** Poll every host's /health this often. */
  intervalMs: number
  timeoutMs: number
  /** Consecutive failed polls → TEMPORARILY_UNAVAILABLE. */
  failures: number
  /** TEMPORARILY_UNAVAILABLE this long (counted from when it became so) → removed from the registry. */
  removalMs: number
  /** Hosts push a heartbeat this often (told to them at registration). */
  heartbeatIntervalMs: number
  /** No heartbeat for this long → probe the host now instead of waiting for the next poll. */
  heartbeatTimeoutMs: number
  /** Timeout of the immediate probe after a missed heartbeat or a closed connection. */
  probeTimeoutMs: number
}

export interface QueueOptions {
  /** Default attempts when the function's manifest does not say. */
  maxAttempts: number
  /** Gateway→host dispatch timeout. */
  dispatchTimeoutMs: number
  /** After a gateway restart, how long running operations wait for their host to re-register. */
  reattachGraceMs: number
  /** Longest wait_seconds a caller may ask for. */
  maxWaitSeconds: number
  /** A running operation with no result this long past its timeout is failed by the gateway (the host enforces the timeout itself; this catches a host that never reports). */
  deadlineGraceMs: number
}

export interface ResolvedGatewayOptions {
  host: string
  port: number
  dbPath: string
  databaseUrl: string | null
  /** null (unset): SQLite normal, PostgreSQL whatever the server's synchronous_commit says (on by default). */
  dbSync: DbSync | null
  publicUrl: string | null
  leader: LeaderOptions
  storage: StorageConfig
  apiToken: string | null
  clusterToken: string | null
  insecure: boolean
  health: HealthOptions
  queue: QueueOptions
  maxBodyBytes: number
  maxBundleBytes: number
  functionKeepLast: number
  quiet: boolean
  logLevel: number
  logFormat: LogFormat
  retention: RetentionOptions
  logs: LogOptions
  metricsPublic: boolean
  corsOrigins: string[]
  /** KTRDR_SECRETS_KEY; null: the key file beside the database (see _secrets.ts). */
  secretsKey: string | null
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

/** Seconds from env (the guide's variables are in seconds) → ms. */
function secs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const n = envNumber(env, name)
  return n === undefined ? undefined : n * 1000
}

/** Megabytes from env → bytes. */
function megabytes(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const n = envNumber(env, name)
  return n === undefined ? undefined : n * 1024 * 1024
}

/**
 * The one place gateway defaults live. Precedence: explicit config > environment > default.
 * Env: KTRDR_GATEWAY_HOST, KTRDR_GATEWAY_PORT (or PORT), KTRDR_GATEWAY_DB, KTRDR_HOME, KTRDR_API_TOKEN,
 * KTRDR_CLUSTER_TOKEN, KTRDR_INSECURE=1, KTRDR_WORKER_HEALTH_CHECK_INTERVAL/TIMEOUT/FAILURES,
 * KTRDR_WORKER_REMOVAL_THRESHOLD (seconds, as in the guide), KTRDR_HEARTBEAT_INTERVAL/TIMEOUT (seconds),
 * KTRDR_MAX_ATTEMPTS, KTRDR_MAX_BODY_BYTES, KTRDR_MAX_BUNDLE_BYTES (or KTRDR_MAX_BUNDLE_MB), KTRDR_FUNCTION_KEEP_LAST,
 * KTRDR_OPERATIONS_RETENTION_DAYS (30; 0 keeps finished operations forever), KTRDR_DATABASE_URL (postgres://…; unset: SQLite),
 * KTRDR_GATEWAY_PUBLIC_URL, KTRDR_DB_SYNC (normal | full), KTRDR_OPERATION_LOG_LINES (5000) and KTRDR_OPERATION_LOG_KB
 * (1024): the newest lines of each operation's log that are kept, KTRDR_METRICS_PUBLIC=1 (GET /metrics without a token),
 * LOG_LEVEL (info), KTRDR_LOG_FORMAT (text | json) and KTRDR_CORS_ORIGINS (none).
 */
export function resolveGatewayOptions(config: GatewayConfig = {}, env: NodeJS.ProcessEnv = process.env): ResolvedGatewayOptions {
  const host = config.host ?? env.KTRDR_GATEWAY_HOST ?? '127.0.0.1'
  const port = config.port ?? envNumber(env, env.KTRDR_GATEWAY_PORT !== undefined ? 'KTRDR_GATEWAY_PORT' : 'PORT') ?? 8000
  const home = resolve(config.storage?.root ?? env.KTRDR_HOME ?? '.ktrdr')
  const dbPath = config.dbPath ?? env.KTRDR_GATEWAY_DB ?? resolve(home, 'gateway.db')
  const databaseUrl = config.databaseUrl !== undefined ? config.databaseUrl : env.KTRDR_DATABASE_URL || null
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `KTRDR_DATABASE_URL must be a postgres://user:password@host:5432/database URL (got "${databaseUrl.replace(/:[^:@/]*@/, ':***@')}"); leave it unset to use the SQLite file (KTRDR_GATEWAY_DB)`,
    })
  }
  const dbSync = config.dbSync !== undefined ? config.dbSync : parseDbSync(env.KTRDR_DB_SYNC)
  const publicUrl = (config.publicUrl !== undefined ? config.publicUrl : env.KTRDR_GATEWAY_PUBLIC_URL || null)?.replace(/\/+$/, '') ?? null
  const secretsKey = config.secretsKey !== undefined ? config.secretsKey : env.KTRDR_SECRETS_KEY || null
  if (databaseUrl !== null && !secretsKey) {
    // The generated key file lives beside the SQLite file, on one gateway's disk: the other gateway
    // of a pair could not decrypt what this one stored.
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message:
        'A gateway on PostgreSQL (KTRDR_DATABASE_URL) needs KTRDR_SECRETS_KEY, the same on every gateway of the pair, so that each can read the function secrets the other stored: `openssl rand -base64 32`',
    })
  }
  const apiToken = config.apiToken !== undefined ? config.apiToken : env.KTRDR_API_TOKEN || null
  const clusterToken = config.clusterToken !== undefined ? config.clusterToken : env.KTRDR_CLUSTER_TOKEN || null
  const insecure = config.insecure ?? ['1', 'true', 'yes'].includes((env.KTRDR_INSECURE ?? '').toLowerCase())

  if (!LOOPBACK.has(host) && !insecure && (!apiToken || !clusterToken)) {
    throw new KtrdrError({
      code: 'INSECURE_BIND',
      message: `Refusing to listen on ${host} without KTRDR_API_TOKEN and KTRDR_CLUSTER_TOKEN: set both tokens, bind to 127.0.0.1, or pass --insecure (KTRDR_INSECURE=1) if the network is trusted`,
    })
  }

  const heartbeatIntervalMs = config.health?.heartbeatIntervalMs ?? secs(env, 'KTRDR_HEARTBEAT_INTERVAL') ?? 2000
  const health: HealthOptions = {
    intervalMs: config.health?.intervalMs ?? secs(env, 'KTRDR_WORKER_HEALTH_CHECK_INTERVAL') ?? 10_000,
    timeoutMs: config.health?.timeoutMs ?? secs(env, 'KTRDR_WORKER_HEALTH_CHECK_TIMEOUT') ?? 5000,
    failures: config.health?.failures ?? envNumber(env, 'KTRDR_WORKER_HEALTH_CHECK_FAILURES') ?? 3,
    removalMs: config.health?.removalMs ?? secs(env, 'KTRDR_WORKER_REMOVAL_THRESHOLD') ?? 300_000,
    heartbeatIntervalMs,
    // 1.25 intervals: one late heartbeat triggers a probe, not a verdict; the probe decides.
    heartbeatTimeoutMs: config.health?.heartbeatTimeoutMs ?? secs(env, 'KTRDR_HEARTBEAT_TIMEOUT') ?? Math.round(heartbeatIntervalMs * 1.25),
    probeTimeoutMs: config.health?.probeTimeoutMs ?? 1000,
  }
  const queue: QueueOptions = {
    maxAttempts: config.queue?.maxAttempts ?? envNumber(env, 'KTRDR_MAX_ATTEMPTS') ?? 3,
    dispatchTimeoutMs: config.queue?.dispatchTimeoutMs ?? 30_000,
    reattachGraceMs: config.queue?.reattachGraceMs ?? Math.max(3 * heartbeatIntervalMs, 5000),
    maxWaitSeconds: config.queue?.maxWaitSeconds ?? 300,
    deadlineGraceMs: config.queue?.deadlineGraceMs ?? 30_000,
  }
  return {
    host,
    port,
    dbPath,
    databaseUrl,
    dbSync,
    publicUrl,
    leader: { retryMs: config.leader?.retryMs ?? 1000, checkMs: config.leader?.checkMs ?? 1000 },
    storage: config.storage ?? {},
    apiToken,
    clusterToken,
    insecure,
    health,
    queue,
    maxBodyBytes: config.maxBodyBytes ?? envNumber(env, 'KTRDR_MAX_BODY_BYTES') ?? 1024 * 1024,
    maxBundleBytes:
      config.maxBundleBytes ?? envNumber(env, 'KTRDR_MAX_BUNDLE_BYTES') ?? megabytes(env, 'KTRDR_MAX_BUNDLE_MB') ?? 512 * 1024 * 1024,
    functionKeepLast: config.functionKeepLast ?? envNumber(env, 'KTRDR_FUNCTION_KEEP_LAST') ?? 3,
    quiet: config.quiet ?? false,
    logLevel: typeof config.logLevel === 'number' ? config.logLevel : parseLogLevel(config.logLevel ?? env.LOG_LEVEL),
    logFormat: config.logFormat ?? resolveLogFormat(env.KTRDR_LOG_FORMAT),
    retention: {
      days: config.retention?.days ?? envNumber(env, 'KTRDR_OPERATIONS_RETENTION_DAYS') ?? 30,
      intervalMs: config.retention?.intervalMs ?? 3_600_000,
    },
    secretsKey,
    logs: {
      maxLines: config.logs?.maxLines ?? envNumber(env, 'KTRDR_OPERATION_LOG_LINES') ?? 5000,
      maxBytes: config.logs?.maxBytes ?? (envNumber(env, 'KTRDR_OPERATION_LOG_KB') ?? 1024) * 1024,
    },
    corsOrigins:
      config.corsOrigins ??
      (env.KTRDR_CORS_ORIGINS ?? '')
        .split(',')
        .map((o) => o.trim().replace(/\/+$/, ''))
        .filter(Boolean),
    metricsPublic: config.metricsPublic ?? ['1', 'true', 'yes'].includes((env.KTRDR_METRICS_PUBLIC ?? '').toLowerCase()),
  }
}

function parseDbSync(value: string | undefined): DbSync | null {
  const v = value?.trim().toLowerCase()
  if (!v) return null
  if (v === 'normal' || v === 'full') return v
  throw new KtrdrError({
    code: 'CONFIG_INVALID',
    message: `KTRDR_DB_SYNC must be "normal" (commits survive a gateway crash, the default) or "full" (fsynced: they survive a power loss too); got "${value}"`,
    details: { variable: 'KTRDR_DB_SYNC' },
  })
}
