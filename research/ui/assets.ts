import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createStaticAssets, type StaticAssets } from '../../runtime/http/index.ts'

/** The dashboard's own files: plain ES modules, no build step (docs/decisions.md, "The dashboard"). */
export const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public')
export const DASHBOARD_PREFIX = '/ui'
/** Where the page loads lightweight-charts from (its import map), under the prefix. */
export const CHART_LIBRARY_NAME = 'vendor/lightweight-charts.mjs'

export interface DashboardFiles {
  /** index.html, styles.css, js/… */
  dir: string
  /** lightweight-charts' one-file ES module build (no imports); null when `dir` holds it as vendor/lightweight-charts.mjs. */
  library: string | null
}

/**
 * Where the dashboard's files are: `KTRDR_UI_DIR` (a folder with the library already inside, as the
 * Nitro build copies it next to .output/server), else this source tree and lightweight-charts from
 * node_modules. Null when neither is there.
 */
export function resolveDashboardFiles(env: Record<string, string | undefined> = process.env): DashboardFiles | null {
  if (env.KTRDR_UI_DIR) return existsSync(join(env.KTRDR_UI_DIR, 'index.html')) ? { dir: env.KTRDR_UI_DIR, library: null } : null
  if (!existsSync(join(DASHBOARD_DIR, 'index.html'))) return null
  try {
    const library = join(
      dirname(createRequire(import.meta.url).resolve('lightweight-charts/package.json')),
      'dist/lightweight-charts.standalone.production.mjs',
    )
    return existsSync(library) ? { dir: DASHBOARD_DIR, library } : null
  } catch {
    return null
  }
}

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

export function createDashboardAssets(files: DashboardFiles): StaticAssets {
  return createStaticAssets({
    prefix: DASHBOARD_PREFIX,
    dir: files.dir,
    files: files.library ? { [CHART_LIBRARY_NAME]: files.library } : {},
    headers: (name, body) =>
      name.endsWith('.html')
        ? { 'content-security-policy': contentSecurityPolicy(body.toString('utf8')), 'referrer-policy': 'no-referrer' }
        : undefined,
  })
}
