// Shared test kit: fixtures that tests of several packages use. A package's tests may import this
// entry and their own package's internals, nothing else of another package (docs/architecture.md).
import { join } from 'node:path'

/** The echo function, for tests that run or bundle a real function. */
export { default as echo } from '../../functions/echo/index.ts'
/** Function folders built by tests (echo-v2: echo under the same name with other code, so another sha256). */
export const FUNCTION_FIXTURES = join(import.meta.dirname, 'fixtures')
/** Builds a function folder into a bundle (functions' own tests check what ships). */
export { buildFunctionBundle } from '../../runtime/bundler/index.ts'
/** OHLCV builders. */
export { randomWalk, seriesFromCloses } from '../../trading/test/_helpers.ts'
/** A gateway on a free loopback port with a fake function registry, and fake hosts that register with it. */
export { startTestGateway, type TestGateway } from '../../runtime/gateway/test/_setup.ts'
export { startFakeHost, until } from '../../runtime/gateway/test/_fakes.ts'
/** /metrics read with an independent Prometheus text parser. */
export { readMetrics, type ScrapedMetrics } from './prometheus.ts'
