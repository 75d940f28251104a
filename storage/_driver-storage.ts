import { createStorage, normalizeBaseKey, type Driver, type Storage } from 'unstorage'

export interface DriverStorageOptions {
  /** Called with the normalised base (`runs:`; '' for the whole mount) before anything is cleared; throws to refuse. */
  authorizeClear?: (base: string) => void
}

/** Removals in flight at once when clearing a prefix (each is a request on an http mount). */
const CLEAR_CONCURRENCY = 16

/**
 * unstorage's createStorage over one driver, with a `clear(base)` that removes exactly the keys
 * under `base`. In unstorage 1.17 a clear below the root mount is a silent no-op (it looks for mounts
 * *under* the base, finds none: unjs/unstorage#801), and drivers' own clear often ignores its base
 * and empties everything (unstorage's fs driver removes the whole folder), so a base is never handed
 * to the driver: the keys under it are listed and removed one by one, each through the driver's own
 * checks (a scope, a read-only mount). Clearing the whole mount still uses the driver's clear.
 */
export function createDriverStorage(driver: Driver, options: DriverStorageOptions = {}): Storage {
  const storage = createStorage({ driver })
  const clearMount = storage.clear
  storage.clear = async (base, opts) => {
    const prefix = normalizeBaseKey(base)
    options.authorizeClear?.(prefix)
    if (!prefix) return clearMount(prefix, opts)
    const keys = await storage.getKeys(prefix, opts)
    for (let i = 0; i < keys.length; i += CLEAR_CONCURRENCY)
      await Promise.all(keys.slice(i, i + CLEAR_CONCURRENCY).map((key) => storage.removeItem(key, opts)))
  }
  return storage
}
