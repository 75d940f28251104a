import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createStaticAssets, type StaticAssets } from '../../runtime/http/index.ts'

/** The dashboard's own files: plain ES modules, no build step (docs/decisions.md, "The dashboard"). */
export const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public')
export const DASHBOARD_PREFIX = '/ui'

/** lightweight-charts' one-file ES module build (no imports), served as /ui/vendor/lightweight-charts.mjs. */
export const CHART_LIBRARY = join(
  dirname(createRequire(import.meta.url).resolve('lightweight-charts/package.json')),
  'dist/lightweight-charts.standalone.production.mjs',
)

/**
 * The page's Content-Security-Policy: scripts only from the gateway plus the one inline import map
 * (by its hash), data only from the gateway (connect-src 'self'): the page can talk to nothing else,
 * which also proves it works offline.
 */
export function contentSecurityPolicy(html: string): string {
  const map = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)
  const hash = map ? ` 'sha256-${createHash('sha256').update(map[1]).digest('base64')}'` : ''
  return [
    "default-src 'none'",
    `script-src 'self'${hash}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

export function createDashboardAssets(): StaticAssets {
  return createStaticAssets({
    prefix: DASHBOARD_PREFIX,
    dir: DASHBOARD_DIR,
    files: { 'vendor/lightweight-charts.mjs': CHART_LIBRARY },
    headers: (name, body) =>
      name.endsWith('.html')
        ? { 'content-security-policy': contentSecurityPolicy(body.toString('utf8')), 'referrer-policy': 'no-referrer' }
        : undefined,
  })
}
