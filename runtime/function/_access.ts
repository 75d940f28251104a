import { MAX_CONCURRENCY, MOUNT_NAMES, type MountName } from '../protocol/index.ts'
import { KtrdrError } from '../protocol/index.ts'

/** How a function may use one storage mount: `'read'`, `'write'` (read and write), or either limited to key prefixes. */
export type MountAccess = 'read' | 'write' | { access: 'read' | 'write'; prefixes: string[] }

/** The mounts a function uses, as declared in `defineFunction({ storage })`. Undeclared mounts are refused. */
export type StorageAccess = Partial<Record<MountName, MountAccess>>

/** Normalised form carried in manifests and executor messages: prefixes as unstorage base keys (`a:b:`). */
export type { StorageScope } from '../protocol/index.ts'
import type { StorageScope } from '../protocol/index.ts'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * The host's own settings and credentials all start with KTRDR_; a function may never ask for one.
 * (Non-secret runtime settings that functions read reach them through the host's own list, see runtime/host/_env.ts.)
 */
export function checkDeclaredEnv(names: unknown, where: string): string[] {
  if (names === undefined) return []
  if (!Array.isArray(names)) throw declarationError(`${where}: env must be an array of variable names`)
  for (const name of names) {
    if (typeof name !== 'string' || !ENV_NAME.test(name))
      throw declarationError(`${where}: env entry ${JSON.stringify(name)} is not an environment variable name`)
    if (name.toUpperCase().startsWith('KTRDR_'))
      throw declarationError(
        `${where}: env may not name ${name}: KTRDR_* variables are the host's own settings and secrets; use \`ktrdr secret set\` for a function secret`,
      )
  }
  return [...new Set(names as string[])].sort()
}

/** Key prefixes in unstorage's normal form: `AAPL/1h` → `AAPL:1h:`. */
export function normalizePrefix(prefix: string): string {
  const key = prefix.replace(/[/\\]/g, ':').replace(/:+/g, ':').replace(/^:|:$/g, '')
  return key ? `${key}:` : ''
}

export function normalizeStorageAccess(access: unknown, where: string): StorageScope {
  if (access === undefined) return {}
  if (!access || typeof access !== 'object' || Array.isArray(access))
    throw declarationError(`${where}: storage must map mount names to 'read' or 'write'`)
  const scope: StorageScope = {}
  for (const [mount, value] of Object.entries(access)) {
    if (!(MOUNT_NAMES as readonly string[]).includes(mount))
      throw declarationError(`${where}: storage names unknown mount "${mount}" (mounts: ${MOUNT_NAMES.join(', ')})`)
    const entry =
      typeof value === 'string' ? { access: value, prefixes: [] as unknown[] } : (value as { access?: unknown; prefixes?: unknown })
    if (!entry || (entry.access !== 'read' && entry.access !== 'write'))
      throw declarationError(`${where}: storage.${mount} must be 'read' or 'write' (or { access, prefixes })`)
    const prefixes = entry.prefixes ?? []
    if (
      !Array.isArray(prefixes) ||
      prefixes.some((p) => typeof p !== 'string' || !normalizePrefix(p) || p.split(/[/:\\]/).includes('..'))
    ) {
      throw declarationError(`${where}: storage.${mount}.prefixes must be non-empty key prefixes without ".."`)
    }
    scope[mount as MountName] = { access: entry.access, prefixes: [...new Set((prefixes as string[]).map(normalizePrefix))].sort() }
  }
  return scope
}

function declarationError(message: string) {
  return new KtrdrError({ code: 'FUNCTION_DECLARATION_INVALID', message })
}

/** `concurrency` in a definition: a whole number from 1 to MAX_CONCURRENCY (1 when missing). */
export function checkConcurrency(value: unknown, where: string): number {
  if (value === undefined) return 1
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY)
    throw declarationError(
      `${where}: concurrency must be a whole number from 1 to ${MAX_CONCURRENCY} (invocations one executor runs at once), not ${JSON.stringify(value)}`,
    )
  return value
}
