import { KtrdrError } from '../protocol/index.ts'

/**
 * The one path normalisation: h3 has already percent-decoded the path once (all but `%2F` and
 * `%25`), so `%2e%2e` arrives here as `..`. Empty segments (`//`) and dot segments are refused
 * rather than resolved: no client we ship sends them (fetch, ofetch and curl resolve dot segments
 * before sending), and resolving them would answer for a path other than the one asked. A single
 * trailing slash is accepted; the router matches it to the same route, auth included.
 */
export function assertCanonicalPath(path: string): void {
  const q = path.indexOf('?')
  const pathname = q === -1 ? path : path.slice(0, q)
  if (!pathname.startsWith('/')) throw notCanonical(pathname, 'it must start with /')
  const segments = pathname.split('/')
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]
    if (s === '' && i < segments.length - 1) throw notCanonical(pathname, 'it has an empty segment (//)')
    if (s === '.' || s === '..') throw notCanonical(pathname, `it has a "${s}" segment`)
  }
}

function notCanonical(path: string, why: string) {
  return new KtrdrError({
    code: 'PATH_NOT_CANONICAL',
    message: `Request path ${JSON.stringify(path.slice(0, 200))} is not canonical: ${why}`,
  })
}
