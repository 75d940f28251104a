// The research API: route modules the gateway mounts through the research pack.
import type { GatewayRoutes } from '../../runtime/gateway/index.ts'
import catalogRoutes from './catalog.ts'
import chartsRoutes from './charts.ts'
import compareRoutes from './compare.ts'
import compatRoutes from './compat.ts'
import dataRoutes from './data.ts'
import modelsRoutes from './models.ts'
import loopRoutes from './research.ts'
import resultsRoutes from './results.ts'
import strategiesRoutes from './strategies.ts'
import sweepRoutes from './sweeps.ts'
import trainingsRoutes from './trainings.ts'
import walkForwardRoutes from './walkforward.ts'

/**
 * Cached market data and strategies (read/write), the deployment guide's endpoints mapped onto the
 * trading functions, and read-only views of what they wrote: results, models, training performance,
 * timeframes and symbols; what the dashboard and `ktrdr report`/`compare` draw (decimated charts, comparisons).
 */
export const researchRoutes: GatewayRoutes[] = [
  compatRoutes,
  dataRoutes,
  strategiesRoutes,
  resultsRoutes,
  modelsRoutes,
  trainingsRoutes,
  catalogRoutes,
  loopRoutes,
  walkForwardRoutes,
  sweepRoutes,
  chartsRoutes,
  compareRoutes,
]
