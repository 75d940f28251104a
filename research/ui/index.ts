// The researcher's dashboard: static ES modules served at /ui by the gateway. The page itself is
// public (it holds no data); everything it shows comes from the token-protected API.
import { defineEventHandler } from 'h3'
import { KtrdrError } from '../../trading/index.ts'
import { defineGatewayRoutes, type GatewayRoutes } from '../../runtime/gateway/index.ts'
import { createDashboardAssets, DASHBOARD_PREFIX, resolveDashboardFiles, type DashboardFiles } from './assets.ts'

/**
 * The /ui routes. Without the files (a build that did not copy them, a wrong KTRDR_UI_DIR) the
 * gateway still starts and /ui says what is missing: the API does not depend on the page.
 */
export function createDashboardRoutes(resolve: () => DashboardFiles | null = () => resolveDashboardFiles()): GatewayRoutes {
  return defineGatewayRoutes((router, ctx) => {
    const files = resolve()
    let handler
    if (files) handler = createDashboardAssets(files).handler
    else {
      ctx.logger.warn(`Dashboard files not found (set KTRDR_UI_DIR to a folder holding index.html): ${DASHBOARD_PREFIX} answers 404`)
      handler = defineEventHandler(() => {
        throw new KtrdrError({
          code: 'DASHBOARD_NOT_INSTALLED',
          message:
            'This gateway has no dashboard files: set KTRDR_UI_DIR to a folder holding index.html (the Nitro build writes .output/ui)',
        })
      })
    }
    router.get(DASHBOARD_PREFIX, { auth: 'public' }, handler)
    router.get(`${DASHBOARD_PREFIX}/**`, { auth: 'public' }, handler)
  })
}

export const dashboardRoutes: GatewayRoutes[] = [createDashboardRoutes()]

export { CHART_LIBRARY_NAME, DASHBOARD_DIR, createDashboardAssets, resolveDashboardFiles, type DashboardFiles } from './assets.ts'
