// The researcher's dashboard: static ES modules served at /ui by the gateway. The page itself is
// public (it holds no data); everything it shows comes from the token-protected API.
import { defineGatewayRoutes, type GatewayRoutes } from '../../runtime/gateway/index.ts'
import { createDashboardAssets, DASHBOARD_PREFIX } from './assets.ts'

export const dashboardRoutes: GatewayRoutes[] = [
  defineGatewayRoutes((router) => {
    const assets = createDashboardAssets()
    router.get(DASHBOARD_PREFIX, { auth: 'public' }, assets.handler)
    router.get(`${DASHBOARD_PREFIX}/**`, { auth: 'public' }, assets.handler)
  }),
]

export { CHART_LIBRARY, DASHBOARD_DIR, createDashboardAssets } from './assets.ts'
