import { randomBytes } from 'node:crypto'
import { existsSync, promises as fsp } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Storage } from 'unstorage'
import type { FunctionManifest, FunctionRef } from '../protocol/index.ts'
import { KtrdrError } from '../protocol/index.ts'
import { sha256Hex, unpackArchive } from '../protocol/index.ts'
import { parseManifest, readArchiveManifest } from '../protocol/index.ts'

export interface ReadyBundle {
  sha256: string
  name: string
  version: number
  dir: string
  entryPath: string
  manifest: FunctionManifest
  size: number
}

const READY_MARK = '.ktrdr-ready.json'

/**
 * Unpacked bundles, one immutable directory per sha256, size-capped LRU. A directory is only
 * visible under its sha once fully written (unpacked into a temp dir, then renamed), so a crash
 * mid-unpack never leaves a half bundle that looks ready.
 */
export function createBundleCache(options: { dir: string; maxBytes: number; bundles: Storage; isInUse(sha: string): boolean }) {
  const ready = new Map<string, ReadyBundle & { lastUsed: number }>()
  const loading = new Map<string, Promise<ReadyBundle>>()

  async function init() {
    await fsp.mkdir(options.dir, { recursive: true })
    for (const entry of await fsp.readdir(options.dir)) {
      const dir = join(options.dir, entry)
      if (entry.startsWith('.tmp-')) { await fsp.rm(dir, { recursive: true, force: true }); continue }
      try {
        const mark = JSON.parse(await fsp.readFile(join(dir, READY_MARK), 'utf8')) as { name: string; version: number; size: number }
        const manifest = parseManifest(await fsp.readFile(join(dir, 'manifest.json'), 'utf8'))
        const stat = await fsp.stat(join(dir, READY_MARK))
        ready.set(entry, { sha256: entry, name: manifest.name, version: mark.version, dir, entryPath: join(dir, manifest.entry), manifest, size: mark.size, lastUsed: stat.mtimeMs })
      } catch {
        await fsp.rm(dir, { recursive: true, force: true })
      }
    }
  }

  async function load(ref: FunctionRef): Promise<ReadyBundle> {
    let archive: Uint8Array | null
    try {
      const raw = await options.bundles.getItemRaw(ref.bundle_key)
      archive = raw == null ? null : raw instanceof Uint8Array ? raw : new Uint8Array(raw as ArrayBuffer)
    } catch (cause) {
      throw new KtrdrError({ statusCode: 503, code: 'BUNDLE_FETCH_FAILED', retryable: true, cause, message: `Could not read bundle ${ref.bundle_key} from the bundles storage: ${(cause as Error).message}` })
    }
    if (!archive) throw new KtrdrError({ statusCode: 404, code: 'BUNDLE_NOT_FOUND', retryable: false, message: `Bundle ${ref.bundle_key} (${ref.name}@${ref.version}) is not in the bundles storage; publish it again with \`ktrdr fn deploy ${ref.name}\`` })
    const actual = sha256Hex(archive)
    if (actual !== ref.sha256) {
      throw new KtrdrError({ statusCode: 422, code: 'BUNDLE_SHA_MISMATCH', retryable: false, message: `Bundle ${ref.bundle_key} has sha256 ${actual}, expected ${ref.sha256}: the stored archive was altered or corrupted; republish ${ref.name}`, details: { expected: ref.sha256, actual } })
    }
    const files = unpackArchive(archive)
    const manifest = readArchiveManifest(files, ref.name)
    const tmp = join(options.dir, `.tmp-${ref.sha256.slice(0, 12)}-${randomBytes(4).toString('hex')}`)
    const final = join(options.dir, ref.sha256)
    let size = 0
    for (const file of files) {
      const path = join(tmp, file.name)
      await fsp.mkdir(dirname(path), { recursive: true })
      await fsp.writeFile(path, file.data, { mode: file.mode === '755' ? 0o755 : 0o644 })
      size += file.data.byteLength
    }
    await fsp.writeFile(join(tmp, READY_MARK), JSON.stringify({ name: manifest.name, version: ref.version, size }))
    if (existsSync(final)) await fsp.rm(tmp, { recursive: true, force: true })
    else await fsp.rename(tmp, final).catch(async (error) => {
      await fsp.rm(tmp, { recursive: true, force: true })
      if (!existsSync(final)) throw error
    })
    const bundle = { sha256: ref.sha256, name: manifest.name, version: ref.version, dir: final, entryPath: join(final, manifest.entry), manifest, size, lastUsed: Date.now() }
    ready.set(ref.sha256, bundle)
    await evict()
    return bundle
  }

  /** Keeps the cache under its cap, least recently used first, never a bundle in use. */
  async function evict() {
    let total = [...ready.values()].reduce((sum, b) => sum + b.size, 0)
    const candidates = [...ready.values()].sort((a, b) => a.lastUsed - b.lastUsed)
    for (const bundle of candidates) {
      if (total <= options.maxBytes) break
      if (options.isInUse(bundle.sha256)) continue
      ready.delete(bundle.sha256)
      total -= bundle.size
      await fsp.rm(bundle.dir, { recursive: true, force: true })
    }
  }

  return {
    init,
    /** The unpacked bundle for `ref`: from the cache, or fetched, verified and unpacked once (concurrent callers share the work). */
    async ensure(ref: FunctionRef): Promise<ReadyBundle> {
      const hit = ready.get(ref.sha256)
      if (hit && existsSync(hit.entryPath)) {
        hit.lastUsed = Date.now()
        return hit
      }
      if (hit) ready.delete(ref.sha256)
      let pending = loading.get(ref.sha256)
      if (!pending) {
        pending = load(ref).finally(() => loading.delete(ref.sha256))
        loading.set(ref.sha256, pending)
      }
      return pending
    },
    has: (sha: string) => ready.has(sha),
    /** sha256 of every ready bundle (reported to the gateway as warm_bundles). */
    warm: () => [...ready.keys()],
    list: () => [...ready.values()].map(({ sha256, name, version, size, lastUsed }) => ({ sha256, name, version, size, last_used: new Date(lastUsed).toISOString() })),
    evict,
  }
}

export type BundleCache = ReturnType<typeof createBundleCache>
