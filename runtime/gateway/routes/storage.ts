import { getRouterParam } from 'h3'
import { createH3StorageHandler } from 'unstorage/server'
import { MOUNT_NAMES, type MountName } from '../../../storage/index.ts'
import { KtrdrError } from '../../protocol/index.ts'
import { defineGatewayRoutes } from '../_routes.ts'
import { readBodyBytes } from '../_http.ts'

/**
 * The storage mounts over HTTP for hosts without NFS (`KTRDR_STORAGE_URL=<gateway>/api/v1/storage`,
 * unstorage's HTTP driver on the host side). Guarded by the cluster token like the other host routes.
 */
export default defineGatewayRoutes((router, ctx) => {
  const handlers = new Map(
    MOUNT_NAMES.map((mount) => [
      mount,
      createH3StorageHandler(ctx.storage[mount], {
        resolvePath: (event) => event.path.replace(new RegExp(`^/api/v1/storage/${mount}`), '') || '/',
      }),
    ]),
  )
  const handler = async (event: Parameters<NonNullable<ReturnType<typeof handlers.get>>>[0]) => {
    const mount = getRouterParam(event, 'mount') as MountName
    const h = handlers.get(mount)
    if (!h)
      throw new KtrdrError({
        code: 'MOUNT_NOT_FOUND',
        message: `No storage mount "${mount}": use one of ${MOUNT_NAMES.join(', ')}`,
      })
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
