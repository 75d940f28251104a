// The Nitro gateway build as shipped (nitro.config.ts names this plugin): the runtime's gateway with
// the research routes, as researchPack gives them to the ktrdr CLI (cli.ts). The routes are taken
// from research/api directly, not through the pack: the pack also names the CLI commands, which a
// server build must not bundle (measured: through the pack, .output/server carried nitropack,
// rollup and esbuild, 213 packages and 16.2 MB, instead of 17 packages and 4.3 MB).
import { createGatewayNitroPlugin } from '../runtime/gateway/nitro/plugin.ts'
import { researchRoutes } from '../research/api/index.ts'
import { dashboardRoutes } from '../research/ui/index.ts'

export default createGatewayNitroPlugin({ routes: async () => [...researchRoutes, ...dashboardRoutes] })
