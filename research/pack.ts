// The research pack on its own, without the route modules research/index.ts also exports: what
// cli.ts loads, so that `ktrdr --help` does not evaluate the research API (and the gateway,
// trading core and zod schemas it imports) just to list commands.
import { defineKtrdrPack } from '../runtime/cli/index.ts'

export const researchPack = defineKtrdrPack({
  name: 'research',
  // The research API, then the dashboard that shows it (/ui).
  routes: async () => [...(await import('./api/index.ts')).researchRoutes, ...(await import('./ui/index.ts')).dashboardRoutes],
  commands: {
    data: {
      description: 'Market data cache: list, show, import, generate, resample (local, or a cluster with --url)',
      load: () => import('./cli/data.ts').then((m) => m.default),
    },
    strategy: { description: 'v3 strategy grammar tools', load: () => import('./cli/strategy.ts').then((m) => m.default) },
    indicators: {
      description: 'List the indicators a strategy can use, or show one with its parameters and outputs',
      load: () => import('./cli/indicators.ts').then((m) => m.default),
    },
    demo: {
      description: 'Local cluster + synthetic market + train + backtest, end to end through the REST API',
      load: () => import('./cli/demo.ts').then((m) => m.default),
    },
    report: {
      description: 'Write a self-contained HTML tearsheet (charts, metrics beside baselines) of a finished backtest or training',
      load: () => import('./cli/report.ts').then((m) => m.default),
    },
    compare: {
      description: 'Compare 2–6 completed backtests (or trainings) side by side, each figure beside its baselines',
      load: () => import('./cli/compare.ts').then((m) => m.default),
    },
    model: {
      description: 'Trained models: list, show, compare, promote (tag) versions',
      load: () => import('./cli/model.ts').then((m) => m.default),
    },
    llm: { description: 'Local LLM models for the design and assess functions', load: () => import('./cli/llm.ts').then((m) => m.default) },
    research: {
      description: 'The research loop: a brief → a designed, trained, backtested and assessed strategy',
      load: () => import('./cli/research.ts').then((m) => m.default),
    },
    walkforward: {
      description: 'Walk-forward analysis: rolling or anchored train → out-of-sample test folds, as child operations',
      load: () => import('./cli/walkforward.ts').then((m) => m.default),
    },
    sweep: {
      description: 'Parameter sweeps: training hyperparameters and backtest parameter sets fanned out as child operations',
      load: () => import('./cli/sweep.ts').then((m) => m.default),
    },
  },
  // A fresh cluster can run train and backtest by strategy_name right away.
  async onUp({ gateway, logger }) {
    const renamed: string[] = []
    // Imported here: seed.ts reaches the trading core (yaml, csv-parse, zod), which `ktrdr --help` must not load.
    const { seedExampleStrategies } = await import('./seed.ts')
    const seeded = await seedExampleStrategies(gateway.services.storage.strategies, undefined, {
      onRenamed: (name, from) => renamed.push(`${from} → ${name}`),
    })
    if (seeded.length)
      logger.info(
        `Example strategies stored in the strategies mount: ${seeded.join(', ')}${renamed.length ? ` (name: set to the file name: ${renamed.join(', ')})` : ''}`,
      )
    logger.info(`Dashboard: ${gateway.url}/ui/`)
  },
})
