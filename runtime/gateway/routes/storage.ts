import { getRouterParam, type H3Event } from 'h3'
import { createH3StorageHandler } from 'unstorage/server'
import { assertStorageKey, MOUNT_NAMES, type MountName } from '../../../storage/index.ts'
import { KtrdrError } from '../../protocol/index.ts'
import { defineGatewayRoutes } from '../_routes.ts'
import { readBodyBytes } from '../_http.ts'

/**
 * The storage mounts over HTTP for hosts without NFS (`KTRDR_STORAGE_URL=<gateway>/api/v1/storage`,
 * unstorage's HTTP driver on the host side). Guarded by the cluster token like the other host routes.
 */
export default defineGatewayRoutes((router, ctx) => {
  const keyPath = (event: H3Event, mount: string) => event.path.replace(new RegExp(`^/api/v1/storage/${mount}`), '') || '/'
  const handlers = new Map(
    MOUNT_NAMES.map((mount) => [mount, createH3StorageHandler(ctx.storage[mount], { resolvePath: (event) => keyPath(event, mount) })]),
  )
  const handler = async (event: H3Event) => {
    const mount = getRouterParam(event, 'mount') as MountName
    const h = handlers.get(mount)
    if (!h)
      throw new KtrdrError({
        code: 'MOUNT_NOT_FOUND',
        message: `No storage mount "${mount}": use one of ${MOUNT_NAMES.join(', ')}`,
      })
    // Checked before the body is read (the driver checks again): h3 has decoded the path but for
    // %2F and %25, which unstorage's handler decodes as it does here.
    assertStorageKey(keyPath(event, mount).split('?')[0]!.replace(/%25/g, '%'))
    // The policy caps a declared content-length; a chunked upload declares none, so the body is read
    // here through the one capped reader and handed to unstorage's handler as already read.
    if (event.method === 'PUT' || event.method === 'POST') {
      ;(event as unknown as { _requestBody?: Buffer })._requestBody = await readBodyBytes(event, ctx.options.maxBundleBytes)
    }
    return h(event)
  }
  router.use('/api/v1/storage/:mount', { auth: 'cluster', body: 'upload' }, handler)
  router.use('/api/v1/storage/:mount/**', { auth: 'cluster', body: 'upload' }, handler)
})
