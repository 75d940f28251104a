// Shared test kit: one way for every package's tests to wait, call a gateway, get temp storage,
// build and publish functions, make OHLCV series and start test gateways and fake hosts. A
// package's tests may import this entry and their own package's internals, nothing else of
// another package (docs/architecture.md).
import { join } from 'node:path'

/** Polls a condition with a deadline (for what no event announces). */
export { until } from './until.ts'
/** Requests to a gateway or host answering `{status, body}`, optionally with a bearer token. */
export { api, createApi, type ApiInit, type ApiResponse } from './api.ts'
/** A temp folder with KTRDR storage in it, and its cleanup. */
export { tempStorage, type TempStorage } from './storage.ts'
/** A temp folder inside the project, where function sources resolve the project's packages. */
export { PROJECT_ROOT, tempProjectDir, type TempProjectDir } from './project.ts'
/** Building functions and publishing them (runtime/cli deployFunction, as `ktrdr fn deploy` does). */
export { buildEcho, buildFunction, publish, type BuiltFunction } from './functions.ts'
export { deployFunction, type DeployedFunction } from '../../runtime/cli/index.ts'
/** The echo function, for tests that run or bundle a real function. */
export { default as echo } from '../../functions/echo/index.ts'
/** Function folders built by tests (echo-v2: echo under the same name with other code, so another sha256; echo-shared: echo declaring concurrency 12). */
export const FUNCTION_FIXTURES = join(import.meta.dirname, 'fixtures')
/** Builds a function folder into a bundle (functions' own tests check what ships). */
export { buildFunctionBundle } from '../../runtime/bundler/index.ts'
/** OHLCV builders: series from closes, and a seeded random walk (trading/rng.ts). */
export { randomWalk, seriesFromCloses } from '../../trading/test/_helpers.ts'
/** A gateway on a free loopback port with a fake function registry, and fake hosts that register with it. */
export { DEFAULT_MANIFESTS, startTestGateway, useTestGateways, type TestGateway } from './gateway.ts'
/** A gateway with the real function registry, as `ktrdr gateway` runs it. */
export { startRealGateway, type RealGateway } from './gateway.ts'
/** The ktrdr CLI (or another of the project's node scripts) in a child process, as a user runs it. */
export { ANSI, KTRDR_BIN, ktrdr, startKtrdr, startNode, userEnv, type KtrdrRun, type KtrdrRunOptions, type StartedKtrdr } from './cli.ts'
export { manifest as fakeManifest, startFakeHost } from '../../runtime/gateway/test/_fakes.ts'
/** The storage contract (storage/test/contract.ts), run by each package over its own way to storage. */
export {
  codeOf,
  describeStorageContract,
  runStorageContractCheck,
  statusOf,
  type StorageContractCapabilities,
  type StorageContractTarget,
} from '../../storage/test/contract.ts'
/** A throwaway PostgreSQL server on loopback (null, with the reason logged, where it cannot start). */
export { startTestPostgres, postgresSkipReason, type TestPostgres } from '../_pg.ts'
/** /metrics read with an independent Prometheus text parser. */
export { readMetrics, type ScrapedMetrics } from './prometheus.ts'
