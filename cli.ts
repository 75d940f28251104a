// The ktrdr command as shipped: the runtime's CLI with the research pack (bin/ktrdr.mjs loads this).
import { runCli } from './runtime/cli/index.ts'
import { researchPack } from './research/index.ts'

await runCli({ packs: [researchPack] })
