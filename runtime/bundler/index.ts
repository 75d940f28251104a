// Public entry of the bundler: a function folder → a self-contained tar.gz (manifest.json at the
// root, server/index.mjs running the executor with the function inlined), and the archive format
// the gateway's registry and the hosts read back. Nitro and nft load only when a build starts.
export { BUNDLE_ENTRY, buildFunctionBundle, resolveFunctionDir, type BuildFunctionOptions, type BuiltBundle, type BundleConfig } from './build.ts'
export { packArchive, sha256Hex, unpackArchive, type ArchiveFile, type UnpackOptions } from './archive.ts'
export { MANIFEST_FILE, parseManifest, readArchiveManifest } from './manifest.ts'
