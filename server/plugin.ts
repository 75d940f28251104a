// The Nitro gateway build as shipped (nitro.config.ts names this plugin): the runtime's gateway with
// the research routes, as researchPack gives them to the ktrdr CLI (cli.ts). The routes are taken
// from research/api directly, not through the pack: the pack also names the CLI commands, which a
// server build must not bundle (measured: through the pack, .output/server carried nitropack,
// rollup and esbuild, 213 packages and 16.2 MB, instead of 17 packages and 4.3 MB).
import { dirname, join } from 'node:path'
import { createGatewayNitroPlugin } from '../runtime/gateway/nitro/plugin.ts'
import { researchRoutes } from '../research/api/index.ts'
import { createDashboardRoutes, resolveDashboardFiles } from '../research/ui/index.ts'

// nitro.config.ts copies the dashboard to .output/ui, beside .output/server/index.mjs (the entry).
const dashboard = createDashboardRoutes(() =>
  resolveDashboardFiles({ KTRDR_UI_DIR: process.env.KTRDR_UI_DIR || join(dirname(process.argv[1] ?? '.'), '..', 'ui') }),
)

export default createGatewayNitroPlugin({ routes: async () => [...researchRoutes, dashboard] })
