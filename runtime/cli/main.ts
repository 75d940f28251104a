import { defineCommand, runMain } from 'citty'

// Each subcommand lives in its own file and is loaded only when used, so `ktrdr host`
// never pays for the gateway's database driver and vice versa.
const main = defineCommand({
  meta: { name: 'ktrdr', description: 'Neuro-fuzzy trading research on a function cluster' },
  subCommands: {
    gateway: () => import('./commands/gateway.ts').then((m) => m.default),
    host: () => import('./commands/host.ts').then((m) => m.default),
    up: () => import('./commands/up.ts').then((m) => m.default),
    workers: () => import('./commands/workers.ts').then((m) => m.default),
    ops: () => import('./commands/ops.ts').then((m) => m.default),
    invoke: () => import('./commands/invoke.ts').then((m) => m.default),
    fn: () => import('./commands/fn.ts').then((m) => m.default),
    data: () => import('../../research/cli/data.ts').then((m) => m.default),
    strategy: () => import('../../research/cli/strategy.ts').then((m) => m.default),
    demo: () => import('../../research/cli/demo.ts').then((m) => m.default),
  },
})

runMain(main)
