import { createHash } from 'node:crypto'
import type { FunctionManifest } from '../protocol/index.ts'

/** What every executor gets from the host's environment: enough for Node, locale and temp files, nothing else. */
const BASE_NAMES = new Set(['PATH', 'HOME', 'TZ', 'LANG', 'LANGUAGE', 'TMPDIR', 'TMP', 'TEMP'])
const BASE_PATTERNS = [/^LC_[A-Z_]+$/]

/**
 * Non-secret runtime settings that the bundled functions read (checkpoint cadence, IB timeouts and
 * pacing dir, TF backend and training path choice). Functions may not declare KTRDR_* names themselves, so the host
 * names these few here; credentials (KTRDR_CLUSTER_TOKEN, KTRDR_API_TOKEN, KTRDR_SECRETS_KEY…) and
 * everything else under KTRDR_ stay in the host.
 */
export const FUNCTION_SETTINGS = [
  'KTRDR_CHECKPOINT_EPOCH_INTERVAL',
  'KTRDR_CHECKPOINT_TIME_INTERVAL_SECONDS',
  'KTRDR_DATA_PERIODIC_SAVE_INTERVAL',
  'KTRDR_IB_PACING_DIR',
  'KTRDR_IB_TIMEOUT_MS',
  'KTRDR_IB_REQUEST_TIMEOUT_MS',
  'KTRDR_IB_SAVE_EVERY_SEGMENTS',
  'KTRDR_TF_BACKEND',
  'KTRDR_PREFER_GPU',
  'KTRDR_TRAIN_PATH',
  'KTRDR_TFJS_WASM_DIR',
] as const

function pick(env: NodeJS.ProcessEnv, names: Iterable<string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of names) {
    const value = env[name]
    if (value !== undefined) out[name] = value
  }
  return out
}

/**
 * The environment a pre-started (spare) executor starts with, before it knows its function.
 * NODE_OPTIONS is empty so loaders of the host (tsx, vitest) never leak into function code.
 */
export function executorBaseEnv(hostEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const names = Object.keys(hostEnv).filter((n) => BASE_NAMES.has(n) || BASE_PATTERNS.some((p) => p.test(n)))
  return { ...pick(hostEnv, names), NODE_OPTIONS: '' }
}

/**
 * What one function's executor adds to the base: its identity, the runtime settings above, the
 * variables its manifest declares (never KTRDR_*: the manifest check refuses them, and this
 * filter holds even for a manifest that bypassed it) and its secrets from the gateway.
 */
export function functionEnv(
  manifest: Pick<FunctionManifest, 'name' | 'env'>,
  version: number,
  secrets: Record<string, string> = {},
  hostEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const declared = (manifest.env ?? []).filter((n) => !n.toUpperCase().startsWith('KTRDR_'))
  const secretEnv = Object.fromEntries(Object.entries(secrets).filter(([n]) => !n.toUpperCase().startsWith('KTRDR_')))
  return {
    ...pick(hostEnv, FUNCTION_SETTINGS),
    ...pick(hostEnv, declared),
    ...secretEnv,
    KTRDR_FUNCTION: manifest.name,
    KTRDR_FUNCTION_VERSION: String(version),
  }
}

/** Digest of an executor's environment: an executor is reused only by invocations that would start it the same way. */
export function envDigest(env: Record<string, string>): string {
  const h = createHash('sha256')
  for (const key of Object.keys(env).sort()) h.update(key).update('\0').update(env[key]!).update('\0')
  return h.digest('hex').slice(0, 16)
}
