import type { Driver, Storage } from 'unstorage'
import { createDriverStorage, createMountDriver, MOUNT_NAMES, type KtrdrStorage, type MountName } from '../../storage/index.ts'
import { isKtrdrError, KtrdrError } from '../protocol/index.ts'
import type { StorageScope } from './_access.ts'
import type { ExecutorStorageOptions } from '../protocol/index.ts'

type Op = 'read' | 'write' | 'list' | 'clear'

/**
 * Is `op` on `key` (an unstorage key; a base key ends with ':' or is '') inside what the function
 * declared? Throws 403 STORAGE_SCOPE_DENIED naming the mount, key and declaration. Listing a parent
 * of a declared prefix is allowed (the driver filters the answer); clearing one is not.
 */
export function checkStorageScope(scope: StorageScope, mount: MountName, key: string, op: Op, who: string): 'all' | 'filter' {
  const declared = scope[mount]
  const shown = key.replace(/:/g, '/') || '(the whole mount)'
  if (!declared)
    throw denied(
      `${who} has no access to the ${mount} mount (it does not declare storage.${mount}); refused ${op} of ${shown}`,
      mount,
      key,
      op,
    )
  if ((op === 'write' || op === 'clear') && declared.access !== 'write')
    throw denied(`${who} declares storage.${mount} as 'read'; refused ${op} of ${mount}/${shown}`, mount, key, op)
  if (!declared.prefixes.length) return 'all'
  const base = op === 'read' || op === 'write' ? `${key}:` : key
  if (declared.prefixes.some((p) => base.startsWith(p))) return 'all'
  if (op === 'list' && declared.prefixes.some((p) => p.startsWith(base))) return 'filter'
  throw denied(
    `${who} may use ${mount} only under ${declared.prefixes.map((p) => p.replace(/:/g, '/')).join(', ')}; refused ${op} of ${mount}/${shown}`,
    mount,
    key,
    op,
  )
}

function denied(message: string, mount: MountName, key: string, op: Op) {
  return new KtrdrError({ code: 'STORAGE_SCOPE_DENIED', message, details: { mount, key, op } })
}

/** An unstorage driver that lets through only what `scope` allows on `mount` (the rest: STORAGE_SCOPE_DENIED). */
export function scopeDriver(inner: Driver, mount: MountName, scope: StorageScope, who: string): Driver {
  const check = (key: string, op: Op) => checkStorageScope(scope, mount, key, op, who)
  const prefixes = scope[mount]?.prefixes ?? []
  return {
    name: `scoped:${inner.name ?? 'driver'}`,
    flags: inner.flags,
    options: inner.options,
    hasItem: (key, opts) => {
      check(key, 'read')
      return inner.hasItem(key, opts)
    },
    getItem: (key, opts) => {
      check(key, 'read')
      return inner.getItem(key, opts)
    },
    getItemRaw:
      inner.getItemRaw &&
      ((key, opts) => {
        check(key, 'read')
        return inner.getItemRaw!(key, opts)
      }),
    getMeta:
      inner.getMeta &&
      ((key, opts) => {
        check(key, 'read')
        return inner.getMeta!(key, opts)
      }),
    setItem:
      inner.setItem &&
      ((key, value, opts) => {
        check(key, 'write')
        return inner.setItem!(key, value, opts)
      }),
    setItemRaw:
      inner.setItemRaw &&
      ((key, value, opts) => {
        check(key, 'write')
        return inner.setItemRaw!(key, value, opts)
      }),
    removeItem:
      inner.removeItem &&
      ((key, opts) => {
        check(key, 'write')
        return inner.removeItem!(key, opts)
      }),
    async getKeys(base, opts) {
      // unstorage passes no base (undefined) when listing a whole mount.
      const mode = check(base ?? '', 'list')
      const keys = await inner.getKeys(base, opts)
      if (mode === 'all') return keys
      // Driver keys are relative to the mount, with ':' or '/' separators depending on the driver.
      return keys.filter((k) => prefixes.some((p) => `${k.replace(/\//g, ':')}:`.startsWith(p)))
    },
    clear:
      inner.clear &&
      ((base, opts) => {
        check(base ?? '', 'clear')
        return inner.clear!(base, opts)
      }),
    dispose: inner.dispose && (() => inner.dispose!()),
  }
}

/** Mounts a function did not declare: never reached, the scope check refuses first. */
const noneDriver: Driver = { name: 'none', hasItem: () => false, getItem: () => null, getKeys: () => [] }

/** The storage an executor hands to its function: each mount behind the declared scope. */
export async function createScopedStorage(options: ExecutorStorageOptions): Promise<KtrdrStorage> {
  const entries = await Promise.all(
    MOUNT_NAMES.map(async (mount) => {
      const config = options.mounts[mount]
      const inner = options.scope[mount] && config.driver !== 'none' ? await createMountDriver(config) : noneDriver
      const storage = createDriverStorage(codedErrors(scopeDriver(inner, mount, options.scope, options.who)), {
        authorizeClear: (base) => checkStorageScope(options.scope, mount, base, 'clear', options.who),
      })
      return [mount, storage] as const
    }),
  )
  const storage = Object.fromEntries(entries) as Record<MountName, Storage>
  return {
    ...storage,
    options,
    async dispose() {
      await Promise.all(entries.map(([, s]) => s.dispose()))
    },
  }
}

/** A refusal by the host's storage endpoint (an HTTP error carrying our code) as the KtrdrError it was there. */
function codedErrors(driver: Driver): Driver {
  const wrap = <F extends (...args: any[]) => unknown>(fn: F | undefined): F | undefined =>
    fn &&
    ((async (...args: Parameters<F>) => {
      try {
        return await fn(...args)
      } catch (error) {
        if (isKtrdrError(error)) throw error
        const e = error as {
          statusCode?: number
          statusMessage?: string
          data?: { message?: string; data?: { code?: string; retryable?: boolean; details?: unknown } }
        }
        // HEAD answers carry no body: the code is then the status text (h3 sends our code there).
        const code = e.data?.data?.code ?? (/^[A-Z][A-Z_]+$/.test(e.statusMessage ?? '') ? e.statusMessage : undefined)
        if (e.statusCode && code)
          throw new KtrdrError(
            { code, message: `Storage refused by the host: ${e.data?.message ?? code}`, details: e.data?.data?.details },
            { statusCode: e.statusCode, retryable: e.data?.data?.retryable ?? false },
          )
        throw error
      }
    }) as F)
  return {
    ...driver,
    hasItem: wrap(driver.hasItem)!,
    getItem: wrap(driver.getItem)!,
    getItemRaw: wrap(driver.getItemRaw),
    getMeta: wrap(driver.getMeta),
    setItem: wrap(driver.setItem),
    setItemRaw: wrap(driver.setItemRaw),
    removeItem: wrap(driver.removeItem),
    getKeys: wrap(driver.getKeys)!,
    clear: wrap(driver.clear),
  }
}
