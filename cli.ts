// The ktrdr command as shipped: the runtime's CLI with the research pack (bin/ktrdr.mjs loads this,
// compiled into dist/cli/ by scripts/build-cli.mjs). research/pack.ts rather than research/index.ts:
// the entry also re-exports the API routes, which would be evaluated at every start.
import { runCli } from './runtime/cli/index.ts'
import { researchPack } from './research/pack.ts'

await runCli({ packs: [researchPack] })
