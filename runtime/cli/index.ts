// Public entry of the CLI: the `ktrdr` command built from the runtime's subcommands and the packs
// it is given, and what a pack's own commands share with the runtime's (gateway client, arguments).
export { createCli, runCli, runtimeCommands, type CliOptions } from './main.ts'
export type { LazyCommand } from './_lazy.ts'
export { defineKtrdrPack, loadPackRoutes, type KtrdrPack, type KtrdrUpContext } from './_pack.ts'
export { apiArgs, guard, table, useGatewayApi, useGatewayUrl } from './_api.ts'
export { homeArg, intArg, listArg, stopOnSignals } from './_serve.ts'
