// Public entry of the research side: the pack that plugs the trading domain into the runtime.
import { defineKtrdrPack } from '../runtime/cli/index.ts'
import { seedExampleStrategies } from './seed.ts'

export const researchPack = defineKtrdrPack({
  name: 'research',
  routes: () => import('./api/index.ts').then((m) => m.researchRoutes),
  commands: {
    data: () => import('./cli/data.ts').then((m) => m.default),
    strategy: () => import('./cli/strategy.ts').then((m) => m.default),
    demo: () => import('./cli/demo.ts').then((m) => m.default),
  },
  // A fresh cluster can run train and backtest by strategy_name right away.
  async onUp({ gateway, logger }) {
    const seeded = await seedExampleStrategies(gateway.services.storage.strategies)
    if (seeded.length) logger.info(`Example strategies stored in the strategies mount: ${seeded.join(', ')}`)
  },
})

export { researchInvokeChecks, researchRoutes } from './api/index.ts'
export { EXAMPLE_STRATEGIES_DIR, seedExampleStrategies } from './seed.ts'
