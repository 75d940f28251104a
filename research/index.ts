// Public entry of the research side: the pack that plugs the trading domain into the runtime.
export { researchPack } from './pack.ts'
export { researchInvokeChecks, researchRoutes } from './api/index.ts'
export { createDashboardRoutes, dashboardRoutes, resolveDashboardFiles } from './ui/index.ts'
export { EXAMPLE_STRATEGIES_DIR, seedExampleStrategies } from './seed.ts'
