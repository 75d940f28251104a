// The research API: route modules the gateway mounts through the research pack.
import type { GatewayRoutes } from '../../runtime/gateway/index.ts'
import catalogRoutes from './catalog.ts'
import chartsRoutes from './charts.ts'
import compareRoutes from './compare.ts'
import compatRoutes from './compat.ts'
import dataRoutes from './data.ts'
import dataWriteRoutes from './data-write.ts'
import invokeChecks from './invoke-checks.ts'
import modelCompareRoutes from './model-compare.ts'
import modelTagsRoutes from './model-tags.ts'
import modelsRoutes from './models.ts'
import loopRoutes from './research.ts'
import resultsRoutes from './results.ts'
import strategiesRoutes from './strategies.ts'
import sweepRoutes from './sweeps.ts'
import trainingsRoutes from './trainings.ts'
import walkForwardRoutes from './walkforward.ts'

/**
 * Cached market data and strategies (read/write), the trading functions' input checks (before the
 * 202), the deployment guide's endpoints mapped onto the trading functions, and read-only views of
 * what they wrote: results, models, training performance, timeframes and symbols; model tags; what
 * the dashboard and `ktrdr report`/`compare` draw (decimated charts, comparisons).
 */
export const researchRoutes: GatewayRoutes[] = [
  invokeChecks,
  compatRoutes,
  dataRoutes,
  dataWriteRoutes,
  strategiesRoutes,
  resultsRoutes,
  modelCompareRoutes,
  modelsRoutes,
  modelTagsRoutes,
  trainingsRoutes,
  catalogRoutes,
  loopRoutes,
  walkForwardRoutes,
  sweepRoutes,
  chartsRoutes,
  compareRoutes,
]

/** The trading functions' input checks alone (tests that send stand-in inputs to fake hosts leave them out). */
export { default as researchInvokeChecks } from './invoke-checks.ts'
