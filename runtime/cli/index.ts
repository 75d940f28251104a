// Public entry of the CLI: the `ktrdr` command built from the runtime's subcommands and the packs
// it is given, and what a pack's own commands share with the runtime's (the gateway client and
// event follower, deploying a function, a local cluster, arguments).
export { createCli, runCli, runtimeCommands, type CliOptions } from './main.ts'
export type { LazyCommand } from './_lazy.ts'
export { defineKtrdrPack, loadPackRoutes, type KtrdrPack, type KtrdrUpContext } from './_pack.ts'
export { apiArgs, guard, table, useGatewayApi } from './_api.ts'
export {
  createGatewayClient,
  resolveGatewayClientOptions,
  GatewayClientError,
  type GatewayClient,
  type GatewayClientConfig,
  type ResolvedGatewayClientOptions,
} from './_client.ts'
// Many invokes over one WebSocket (GET /api/v1/channel), for programs that make many calls.
export { createInvokeChannel, type ChannelInvokeResult, type InvokeChannel, type InvokeChannelOptions } from './_invoke-channel.ts'
export {
  followEvents,
  followOperation,
  isFinished,
  parseEventStream,
  type FollowEventsOptions,
  type FollowOperationOptions,
  type ServerSentEvent,
} from './_follow.ts'
export { deployFunction, type DeployFunctionOptions, type DeployedFunction } from './_deploy.ts'
export {
  resolveLocalClusterOptions,
  startLocalCluster,
  type LocalCluster,
  type LocalClusterConfig,
  type ResolvedLocalClusterOptions,
} from './_cluster.ts'
export { homeArg, intArg, listArg, stopOnSignals } from './_serve.ts'
export { EXIT_FAILURE, EXIT_USAGE, UsageError } from './_errors.ts'
