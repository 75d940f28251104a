// Public entry of the research side: the pack that plugs the trading domain into the runtime.
import { defineKtrdrPack } from '../runtime/cli/index.ts'
import { seedExampleStrategies } from './seed.ts'

export const researchPack = defineKtrdrPack({
  name: 'research',
  // The research API, then the dashboard that shows it (/ui).
  routes: async () => [...(await import('./api/index.ts')).researchRoutes, ...(await import('./ui/index.ts')).dashboardRoutes],
  commands: {
    data: () => import('./cli/data.ts').then((m) => m.default),
    strategy: () => import('./cli/strategy.ts').then((m) => m.default),
    demo: () => import('./cli/demo.ts').then((m) => m.default),
    report: () => import('./cli/report.ts').then((m) => m.default),
    compare: () => import('./cli/compare.ts').then((m) => m.default),
  },
  // A fresh cluster can run train and backtest by strategy_name right away.
  async onUp({ gateway, logger }) {
    const seeded = await seedExampleStrategies(gateway.services.storage.strategies)
    if (seeded.length) logger.info(`Example strategies stored in the strategies mount: ${seeded.join(', ')}`)
    logger.info(`Dashboard: ${gateway.url}/ui/`)
  },
})

export { researchRoutes } from './api/index.ts'
export { createDashboardRoutes, dashboardRoutes, resolveDashboardFiles } from './ui/index.ts'
export { EXAMPLE_STRATEGIES_DIR, seedExampleStrategies } from './seed.ts'
