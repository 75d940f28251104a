import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { defineEventHandler, getRequestHeader, setResponseHeaders, setResponseStatus, type EventHandler, type H3Event } from 'h3'
import { KtrdrError } from '../protocol/index.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
}

export interface StaticAsset {
  name: string
  type: string
  body: Buffer
  /** The gzip encoding, when it is smaller (text over 1 KiB). */
  gzip: Buffer | null
  etag: string
  headers: Record<string, string>
}

export interface StaticAssetsOptions {
  /** The URL prefix the files are served under (`/ui`): `<prefix>/<name>`, and `<prefix>` itself answers `index`. */
  prefix: string
  /** A folder whose files (recursively, hidden ones skipped) are served by their relative path. */
  dir?: string
  /** Further files by the name they are served as (a library from node_modules): name → absolute path. */
  files?: Record<string, string>
  /** The file answering the bare prefix (default `index.html`). */
  index?: string
  /** Extra response headers of one file (a Content-Security-Policy for the HTML). */
  headers?: (name: string, body: Buffer) => Record<string, string> | undefined
}

export interface StaticAssets {
  prefix: string
  /** Every served name, sorted. */
  names: string[]
  get(name: string): StaticAsset | undefined
  /** The h3 handler for `<prefix>` and `<prefix>/**` (mount it with the route's own auth policy). */
  handler: EventHandler
}

function walk(dir: string, base = ''): string[] {
  const out: string[] = []
  for (const entry of readdirSync(join(dir, base), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue
    const rel = base ? `${base}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...walk(dir, rel))
    else if (entry.isFile()) out.push(rel)
  }
  return out
}

/**
 * A fixed set of files served from memory under a URL prefix. Everything is read (and gzipped) once,
 * when the set is created: the set is small (a dashboard is a few hundred KiB), a request never
 * touches the disk, and a name outside the set cannot reach the file system at all, so no path
 * spelling can escape the folder. Revalidation is by ETag (`no-cache`: a redeployed gateway serves
 * new files at once, an unchanged file costs a 304).
 */
export function createStaticAssets(options: StaticAssetsOptions): StaticAssets {
  const prefix = options.prefix.replace(/\/+$/, '')
  const index = options.index ?? 'index.html'
  const sources: Record<string, string> = {}
  if (options.dir) for (const rel of walk(options.dir)) sources[rel] = join(options.dir, rel)
  Object.assign(sources, options.files)
  const assets = new Map<string, StaticAsset>()
  for (const [name, file] of Object.entries(sources)) {
    const body = readFileSync(file)
    const type = TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream'
    const compressible = /^text\/|javascript|json|svg/.test(type) && body.length > 1024
    const zipped = compressible ? gzipSync(body, { level: 9 }) : null
    assets.set(name, {
      name,
      type,
      body,
      gzip: zipped && zipped.length < body.length ? zipped : null,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      headers: options.headers?.(name, body) ?? {},
    })
  }

  const notFound = (name: string) =>
    new KtrdrError({
      code: 'ASSET_NOT_FOUND',
      message: `No file "${name.slice(0, 200)}" under ${prefix}/`,
    })

  const send = (event: H3Event, asset: StaticAsset) => {
    const gzip = asset.gzip && /\bgzip\b/.test(getRequestHeader(event, 'accept-encoding') ?? '') ? asset.gzip : null
    setResponseHeaders(event, {
      'content-type': asset.type,
      etag: asset.etag,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(asset.gzip ? { vary: 'accept-encoding' } : {}),
      ...asset.headers,
    })
    const match = getRequestHeader(event, 'if-none-match')
    if (match && match.split(',').some((t) => t.trim().replace(/^W\//, '') === asset.etag)) {
      setResponseStatus(event, 304)
      return null
    }
    const body = gzip ?? asset.body
    if (gzip) event.node.res.setHeader('content-encoding', 'gzip')
    event.node.res.setHeader('content-length', body.length)
    return body
  }

  const handler = defineEventHandler((event) => {
    const path = event.path.split('?')[0]
    const rest = path.slice(prefix.length).replace(/^\/+/, '')
    const name = rest === '' ? index : rest
    const asset = assets.get(name)
    if (!asset) throw notFound(name)
    return send(event, asset)
  })

  return { prefix, names: [...assets.keys()].sort(), get: (name) => assets.get(name), handler }
}
