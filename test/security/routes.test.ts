// Every route of the gateway and of a host, from their exported route tables, under every
// credential and path spelling: whatever the router serves gets exactly the auth its route declares.
import http from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGateway, type Gateway, type RouteAuth, type RouteInfo } from '../../runtime/gateway/index.ts'
import { dashboardRoutes, researchRoutes } from '../../research/index.ts'
import { createHost, type KtrdrHost } from '../../runtime/host/index.ts'

const API = 'api-token-for-route-tests'
const CLUSTER = 'cluster-token-for-route-tests'

type Credential = 'none' | 'api' | 'cluster'
interface TokenVariant {
  name: string
  header: string | null
  carries: Credential
}

/** Header spellings and what each one actually proves. */
function tokenVariants(): TokenVariant[] {
  const out: TokenVariant[] = [
    { name: 'none', header: null, carries: 'none' },
    { name: 'wrong', header: 'Bearer not-a-token', carries: 'none' },
    { name: 'empty bearer', header: 'Bearer ', carries: 'none' },
  ]
  for (const [cred, token] of [
    ['api', API],
    ['cluster', CLUSTER],
  ] as const) {
    out.push(
      { name: cred, header: `Bearer ${token}`, carries: cred },
      { name: `${cred} lowercase scheme`, header: `bearer ${token}`, carries: cred },
      { name: `${cred} extra whitespace`, header: `Bearer    ${token}  `, carries: cred },
      { name: `${cred} with suffix`, header: `Bearer ${token}x`, carries: 'none' },
      { name: `${cred} truncated`, header: `Bearer ${token.slice(0, -1)}`, carries: 'none' },
      { name: `${cred} second word`, header: `Bearer ${token} ${token}`, carries: 'none' },
      { name: `${cred} basic scheme`, header: `Basic ${token}`, carries: 'none' },
    )
  }
  return out
}

/** A concrete path for a pattern: params get a plausible value, `**` one key. */
function concrete(pattern: string): string {
  return pattern
    .split('/')
    .map((s) => (s === ':mount' ? 'data' : s.startsWith(':') ? 'x1' : s === '**' ? 'k1' : s))
    .join('/')
}

/** Spellings of one path: the ones a router might treat as the same route, and ones it must not. */
function pathVariants(path: string): Array<{ name: string; path: string }> {
  const segs = path.split('/')
  const last = segs.at(-1)!
  const head = segs.slice(0, -1).join('/')
  const out = [
    { name: 'as declared', path },
    { name: 'trailing slash', path: `${path}/` },
    { name: 'trailing slash and query', path: `${path}/?a=1` },
    { name: 'leading double slash', path: `/${path}` },
    { name: 'inner double slash', path: `${head}//${last}` },
    { name: 'dot-dot segment', path: `/api/v1/x/..${path.startsWith('/api/v1') ? path.slice(7) : path}` },
    { name: 'dot segment', path: `${head}/./${last}` },
    { name: 'encoded dot-dot', path: `${head}/x/%2e%2e/${last}` },
    { name: 'upper case', path: path.toUpperCase() },
    { name: 'capitalised last segment', path: `${head}/${last.charAt(0).toUpperCase()}${last.slice(1)}` },
  ]
  if (head) out.push({ name: 'encoded slash', path: `${head}%2F${last}` })
  if (last) {
    const hex = `%${last.charCodeAt(0).toString(16)}`
    out.push({ name: 'percent-encoded letter', path: `${head}/${hex}${last.slice(1)}` })
    out.push({ name: 'percent-encoded letter, trailing slash', path: `${head}/${hex}${last.slice(1)}/` })
  }
  return out
}

// What the server should do, worked out independently of it: h3 decodes the path once (all
// but %2F), our rule refuses // and dot segments, the router ignores one trailing slash.
function decoded(path: string): string {
  const p = path.split('?')[0]
  try {
    return decodeURIComponent(p.replace(/%2f/gi, '%252F'))
  } catch {
    return p
  }
}
function canonical(path: string): boolean {
  const segs = decoded(path).split('/')
  return segs[0] === '' && segs.every((s, i) => i === 0 || ((s !== '' || i === segs.length - 1) && s !== '.' && s !== '..'))
}
/** Routes that match `path` for `method`, most specific first (static, then :param, then **). */
function candidates(routes: readonly RouteInfo[], method: string, path: string): RouteInfo[] {
  let p = decoded(path)
  if (p.length > 1) p = p.replace(/\/$/, '')
  const segs = p.split('/')
  const rank = (r: RouteInfo) =>
    r.path
      .split('/')
      .map((s) => (s === '**' ? '2' : s.startsWith(':') ? '1' : '0'))
      .join('')
  return routes
    .filter((r) => {
      if (r.method !== 'all' && r.method !== method.toLowerCase()) return false
      const pat = r.path.split('/')
      for (let i = 0; i < pat.length; i++) {
        if (pat[i] === '**') return true
        if (i >= segs.length) return false
        if (pat[i].startsWith(':') ? segs[i] === '' : pat[i] !== segs[i]) return false
      }
      return pat.length === segs.length
    })
    .sort((a, b) => rank(a).localeCompare(rank(b)))
}

interface Outcome {
  status: number
  code: string | undefined
}

function send(base: string, agent: http.Agent, method: string, path: string, authorization: string | null): Promise<Outcome> {
  const url = new URL(base)
  const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? '{}' : undefined
  return new Promise((resolve, reject) => {
    // node:http sends the path verbatim; fetch would resolve dot segments before sending.
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        agent,
        headers: {
          ...(authorization !== null ? { authorization } : {}),
          ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          let code: string | undefined
          try {
            const json = JSON.parse(Buffer.concat(chunks).toString('utf8'))
            code = json?.code ?? json?.data?.code ?? json?.statusMessage
          } catch {
            /* not JSON (storage values, event streams) */
          }
          resolve({ status: res.statusCode ?? 0, code })
        })
        res.on('error', reject)
      },
    )
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: no answer in 20 s`)))
    req.on('error', reject)
    req.end(body)
  })
}

interface Server {
  url: string
  routes: readonly RouteInfo[]
  satisfies(auth: RouteAuth, cred: Credential): boolean
  /** Whether the credential gets past the token check in front of the 404 for unmatched paths. */
  fallback(cred: Credential): boolean
}

/**
 * Sends every (route × method × path spelling × token spelling) and returns the violations.
 * A request is either refused (400 non-canonical, 401, 404 unmatched) or, when a handler answers,
 * carried a credential the served route accepts. Never a 5xx.
 */
async function sweep(server: Server): Promise<{ sent: number; violations: string[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
  const jobs: Array<() => Promise<void>> = []
  const violations: string[] = []
  let sent = 0
  const seen = new Set<string>()
  for (const route of server.routes) {
    const path = concrete(route.path)
    const methods = route.method === 'all' ? ['GET', 'PUT'] : [route.method.toUpperCase()]
    for (const method of [...methods, 'PATCH']) {
      for (const variant of pathVariants(path)) {
        for (const token of tokenVariants()) {
          const key = `${method} ${variant.path} ${token.name}`
          if (seen.has(key)) continue
          seen.add(key)
          jobs.push(async () => {
            const got = await send(server.url, agent, method, variant.path, token.header)
            sent++
            const what = `${key} [${route.method} ${route.path}, ${variant.name}] → ${got.status} ${got.code ?? ''}`
            if (got.status >= 500) {
              violations.push(`server error: ${what}`)
              return
            }
            if (!canonical(variant.path)) {
              if (got.status !== 400 || got.code !== 'PATH_NOT_CANONICAL') violations.push(`non-canonical path not refused: ${what}`)
              return
            }
            const served = candidates(server.routes, method, variant.path)[0]
            const unmatched = got.status === 404 && got.code === 'ROUTE_NOT_FOUND'
            if (unmatched && !server.fallback(token.carries))
              violations.push(`404 told an unauthenticated caller a route is missing: ${what}`)
            if (!served) {
              if (!unmatched && got.status !== 401 && !(got.status === 405 && got.code === 'METHOD_NOT_ALLOWED'))
                violations.push(`unmatched path not refused: ${what}`)
              if (got.status === 401 && server.fallback(token.carries)) violations.push(`valid token refused on an unmatched path: ${what}`)
              return
            }
            const allowed = server.satisfies(served.auth, token.carries)
            if (!allowed && got.status !== 401 && !(unmatched && server.fallback(token.carries)))
              violations.push(`served without the ${served.auth} credential of ${served.method} ${served.path}: ${what}`)
            if (allowed && (got.status === 401 || unmatched))
              violations.push(`not served with the ${served.auth} credential of ${served.method} ${served.path}: ${what}`)
          })
        }
      }
    }
  }
  const workers = Array.from({ length: 8 }, async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) await job()
  })
  await Promise.all(workers)
  agent.destroy()
  console.log(`route sweep: ${server.routes.length} routes, ${sent} requests, ${violations.length} violations`)
  return { sent, violations }
}

/** The first few violations of each kind: one broken rule must not hide another. */
function summary(violations: string[]): string[] {
  const byKind = new Map<string, string[]>()
  for (const v of violations) {
    const kind = v.slice(0, v.indexOf(':'))
    byKind.set(kind, [...(byKind.get(kind) ?? []), v])
  }
  return [...byKind.values()].flatMap((list) => [...list.slice(0, 5), ...(list.length > 5 ? [`… and ${list.length - 5} more`] : [])])
}

let root: string
const closers: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktrdr-routes-sec-'))
})

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {})
  await rm(root, { recursive: true, force: true })
})

async function gateway(name: string, clusterToken: string | null): Promise<Gateway> {
  // The runtime's routes and the research pack's (its API and the dashboard), as `ktrdr gateway` serves them.
  const g = await createGateway({
    port: 0,
    quiet: true,
    dbPath: join(root, `${name}.db`),
    storage: { root: join(root, name) },
    apiToken: API,
    clusterToken,
    routes: [...researchRoutes, ...dashboardRoutes],
  })
  closers.push(() => g.close())
  return g
}

const gatewayServer = (g: Gateway, clusterToken: string | null): Server => ({
  url: g.url,
  routes: g.routes,
  satisfies: (auth, cred) => auth === 'public' || (auth === 'cluster' && clusterToken ? cred === 'cluster' : cred === 'api'),
  // Without a cluster token configured, the cluster-token spelling proves nothing.
  fallback: (cred) => cred === 'api' || (cred === 'cluster' && !!clusterToken),
})

describe('gateway routes', () => {
  it('declares the host routes as cluster routes, /health and the dashboard’s static files as public', async () => {
    const g = await gateway('decl', CLUSTER)
    const policy = (method: string, path: string) => g.routes.find((r) => r.method === method && r.path === path)?.auth
    expect(policy('post', '/api/v1/workers/register')).toBe('cluster')
    expect(policy('post', '/api/v1/workers/:id/heartbeat')).toBe('cluster')
    expect(policy('post', '/api/v1/workers/:id/events')).toBe('cluster')
    expect(policy('all', '/api/v1/storage/:mount/**')).toBe('cluster')
    expect(policy('get', '/health')).toBe('public')
    expect(policy('delete', '/api/v1/workers/:id')).toBe('api')
    expect(
      g.routes
        .filter((r) => r.auth === 'public')
        .map((r) => r.path)
        .sort(),
    ).toEqual(['/api/v1/health', '/docs', '/docs/:asset', '/health', '/ui', '/ui/**'])
    // The API reference page is public (it holds no API data); the document it loads is not.
    expect(policy('get', '/api/v1/openapi.json')).toBe('api')
    expect(policy('get', '/metrics')).toBe('api')
  })

  it('every route × path spelling × token spelling, cluster token set: only the declared credential is served', async () => {
    const g = await gateway('both', CLUSTER)
    const { sent, violations } = await sweep(gatewayServer(g, CLUSTER))
    expect(summary(violations)).toEqual([])
    expect(sent).toBeGreaterThan(g.routes.length * 100)
  }, 300_000)

  it('without a cluster token, cluster routes take the API token and nothing else', async () => {
    const g = await gateway('api-only', null)
    const { violations } = await sweep(gatewayServer(g, null))
    expect(summary(violations)).toEqual([])
  }, 300_000)
})

describe('host routes', () => {
  let host: KtrdrHost
  beforeAll(async () => {
    host = await createHost({
      apiUrl: null,
      workerId: 'sec-host',
      port: 0,
      storage: { root: join(root, 'host') },
      detectGpu: false,
      logLevel: 'silent',
      clusterToken: CLUSTER,
      spareExecutors: 0,
      prewarm: false,
    })
    closers.push(() => host.close({ timeoutMs: 1000 }))
  })

  it('declares /health public and everything else cluster', () => {
    expect(host.routes.find((r) => r.path === '/health')?.auth).toBe('public')
    expect(host.routes.filter((r) => r.path !== '/health').every((r) => r.auth === 'cluster')).toBe(true)
    expect(host.routes.length).toBeGreaterThanOrEqual(6)
  })

  it('every route × path spelling × token spelling: only the cluster token is served', async () => {
    const { sent, violations } = await sweep({
      url: host.url,
      routes: host.routes,
      satisfies: (auth, cred) => auth === 'public' || cred === 'cluster',
      fallback: (cred) => cred === 'cluster',
    })
    expect(summary(violations)).toEqual([])
    expect(sent).toBeGreaterThan(host.routes.length * 100)
  }, 300_000)
})
