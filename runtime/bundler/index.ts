// Public entry of the bundler: a function folder → a self-contained tar.gz (manifest.json at the
// root, server/index.mjs running the executor with the function inlined). Nitro and nft load only
// when a build starts. The archive format itself is in runtime/protocol: the gateway and the hosts
// read bundles without pulling the build toolchain into their own builds.
export {
  BUNDLE_ENTRY,
  buildFunctionBundle,
  resolveFunctionDir,
  type BuildFunctionOptions,
  type BuiltBundle,
  type BundleConfig,
} from './build.ts'
export { hashFunctionSources, type FunctionSources, type HashFunctionSourcesOptions } from './_sources.ts'
