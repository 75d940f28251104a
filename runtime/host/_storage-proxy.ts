import { randomBytes } from 'node:crypto'
import { defineEventHandler, getRequestHeader, type EventHandler } from 'h3'
import { createH3StorageHandler } from 'unstorage/server'
import {
  createDriverStorage,
  MOUNT_NAMES,
  type KtrdrStorage,
  type MountConfig,
  type MountName,
  type ResolvedStorageOptions,
} from '../../storage/index.ts'
import { isKtrdrError, KtrdrError } from '../protocol/index.ts'
import type { ExecutorStorageOptions, StorageScope } from '../protocol/index.ts'
import { checkStorageScope, scopeDriver } from '../function/index.ts'
import { toH3Error } from '../http/index.ts'

/** Where the host app serves storage to its executors. */
export const STORAGE_PROXY_PATH = '/_storage'

/**
 * How executors reach storage. `proxy`: every mount through the host's storage endpoint with a
 * per-invocation capability. `direct`: fs mounts (local or NFS) as fs in the executor, wrapped in
 * the same scope check (no token involved); other mounts still through the proxy.
 */
export type FunctionStorageMode = 'direct' | 'proxy'

interface Capability {
  scope: StorageScope
  who: string
  handlers: Map<MountName, EventHandler>
}

export interface StorageGrant {
  storage: ExecutorStorageOptions
  /** Ends the capability: every later request with it gets 401 CAPABILITY_INVALID. */
  revoke(): void
}

/**
 * The host side of function storage: issues a capability per invocation, scoped to the mounts,
 * prefixes and modes the function's manifest declares, and serves unstorage's HTTP protocol for it.
 * The executor never sees the cluster token or the host's storage credentials.
 */
export function createStorageAccess(options: {
  storage: KtrdrStorage
  resolved: ResolvedStorageOptions
  mode: FunctionStorageMode
  url(): string
}) {
  const capabilities = new Map<string, Capability>()

  function handlerFor(cap: Capability, mount: MountName): EventHandler {
    let handler = cap.handlers.get(mount)
    if (!handler) {
      // The host's own driver behind the scope check; dispose is the host's business, never a capability's.
      const driver = { ...scopeDriver(options.storage[mount].getMount().driver, mount, cap.scope, cap.who), dispose: undefined }
      const storage = createDriverStorage(driver, { authorizeClear: (base) => checkStorageScope(cap.scope, mount, base, 'clear', cap.who) })
      handler = createH3StorageHandler(storage, { resolvePath: (event) => event.path.slice(mount.length + 1) || '/' })
      cap.handlers.set(mount, handler)
    }
    return handler
  }

  const handler = defineEventHandler(async (event) => {
    try {
      const auth = getRequestHeader(event, 'authorization') ?? ''
      const cap = auth.startsWith('Bearer ') ? capabilities.get(auth.slice(7)) : undefined
      if (!cap)
        throw new KtrdrError({
          code: 'CAPABILITY_INVALID',
          message: 'Storage capability missing, unknown or expired (a capability ends with its invocation)',
        })
      const mount = event.path.split('/')[1] as MountName
      if (!MOUNT_NAMES.includes(mount))
        throw new KtrdrError({
          code: 'MOUNT_NOT_FOUND',
          message: `No storage mount "${mount}": use one of ${MOUNT_NAMES.join(', ')}`,
        })
      // unstorage's handler reads an empty body as no body: a text PUT then stores nothing and a raw
      // PUT removes the item (setItemRaw(key, undefined)), both answered OK. Hand it the empty bytes.
      if (event.method === 'PUT' && !Number(getRequestHeader(event, 'content-length')) && !getRequestHeader(event, 'transfer-encoding'))
        (event as unknown as { _requestBody?: Buffer })._requestBody = Buffer.alloc(0)
      return await handlerFor(cap, mount)(event)
    } catch (error) {
      if (!isKtrdrError(error)) throw error
      throw toH3Error(error)
    }
  })

  return {
    handler,
    /** Storage for one invocation of a function with this declared scope. */
    grant(scope: StorageScope, who: string): StorageGrant {
      let token: string | null = null
      const mounts = {} as Record<MountName, MountConfig>
      for (const mount of MOUNT_NAMES) {
        const own = options.resolved.mounts[mount]
        const declared = scope[mount]
        if (!declared) mounts[mount] = { driver: 'none', options: {} }
        else if (options.mode === 'direct' && own.driver === 'fs' && 'base' in own)
          mounts[mount] = { driver: 'fs', base: own.base, readOnly: declared.access === 'read' || own.readOnly }
        else {
          token ??= randomBytes(32).toString('base64url')
          mounts[mount] = {
            driver: 'http',
            base: `${options.url()}${STORAGE_PROXY_PATH}/${mount}`,
            headers: { authorization: `Bearer ${token}` },
          }
        }
      }
      if (token) capabilities.set(token, { scope, who, handlers: new Map() })
      return {
        storage: { root: options.resolved.root, mounts, scope, who },
        revoke() {
          if (token) capabilities.delete(token)
        },
      }
    },
    /** Live capabilities (tests, `GET /`). */
    size: () => capabilities.size,
  }
}

export type StorageAccess = ReturnType<typeof createStorageAccess>
