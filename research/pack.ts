// The research pack on its own, without the route modules research/index.ts also exports: what
// cli.ts loads, so that `ktrdr --help` does not evaluate the research API (and the gateway,
// trading core and zod schemas it imports) just to list commands.
import { defineKtrdrPack } from '../runtime/cli/index.ts'
import { seedExampleStrategies } from './seed.ts'

export const researchPack = defineKtrdrPack({
  name: 'research',
  routes: () => import('./api/index.ts').then((m) => m.researchRoutes),
  commands: {
    data: { description: 'Market data cache: list, show, import, generate', load: () => import('./cli/data.ts').then((m) => m.default) },
    strategy: { description: 'v3 strategy grammar tools', load: () => import('./cli/strategy.ts').then((m) => m.default) },
    demo: {
      description: 'Local cluster + synthetic market + train + backtest, end to end through the REST API',
      load: () => import('./cli/demo.ts').then((m) => m.default),
    },
  },
  // A fresh cluster can run train and backtest by strategy_name right away.
  async onUp({ gateway, logger }) {
    const seeded = await seedExampleStrategies(gateway.services.storage.strategies)
    if (seeded.length) logger.info(`Example strategies stored in the strategies mount: ${seeded.join(', ')}`)
  },
})
