// The Nitro gateway build as shipped (nitro.config.ts names this plugin): the runtime's gateway with
// the packs' routes, the same composition as the ktrdr CLI in cli.ts.
import { createGatewayNitroPlugin } from '../runtime/gateway/nitro/plugin.ts'
import { loadPackRoutes } from '../runtime/cli/index.ts'
import { researchPack } from '../research/index.ts'

export default createGatewayNitroPlugin({ routes: () => loadPackRoutes([researchPack]) })
