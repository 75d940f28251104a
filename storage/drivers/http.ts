import { $fetch } from 'ofetch'
import { defineDriver } from 'unstorage'
import unstorageHttpDriver, { type HTTPOptions } from 'unstorage/drivers/http'
import { encodeURLKey } from 'unstorage/drivers/utils/index'

/**
 * unstorage's http driver (a gateway's `/api/v1/storage/<mount>`, a host's `/_storage/<mount>`)
 * answering like the fs driver where unstorage 1.17.6 does not (storage/test/contract.ts checks both):
 * - getItemRaw of a missing key is null: unstorage's turns the 404 into null and then reads
 *   `_data` of it, a TypeError ("Cannot read properties of null"), so a caller trying
 *   `name.yaml` then `name.yml` failed on the first miss;
 * - getItemRaw gives a Buffer, as fs does, not an ArrayBuffer;
 * - getMeta of a missing key is `{}` (no mtime), where unstorage's throws the 404.
 */
export const httpDriver = defineDriver((options: HTTPOptions) => {
  const inner = unstorageHttpDriver(options)
  const base = options.base.replace(/\/+$/, '')
  const missing = (error: unknown) => (error as { response?: { status?: number } } | null)?.response?.status === 404
  return {
    ...inner,
    async getItemRaw(key: string, topts?: { headers?: Record<string, string> }) {
      const response = await $fetch
        .raw<ArrayBuffer, 'arrayBuffer'>(`${base}/${encodeURLKey('http', key)}`, {
          responseType: 'arrayBuffer',
          headers: { accept: 'application/octet-stream', ...options.headers, ...topts?.headers },
        })
        .catch((error: unknown) => {
          if (missing(error)) return null
          throw error
        })
      return response ? Buffer.from(response._data ?? new ArrayBuffer(0)) : null
    },
    async getMeta(key: string, topts?: { headers?: Record<string, string> }) {
      try {
        return await inner.getMeta!(key, topts)
      } catch (error) {
        if (missing(error)) return {}
        throw error
      }
    },
  }
})
