// Public entry of the wire protocol shared by gateway, scheduler, hosts and the executors they run.
export * from './worker.ts'
export * from './operation.ts'
export * from './function.ts'
export * from './errors.ts'
export * from './error-codes.ts'
export * from './config.ts'
export * from './logging.ts'
export * from './mounts.ts'
export * from './executor.ts'
// The host channel's frames and its request/answer endpoint (gateway and hosts both speak it).
export * from './_channel.ts'
// The bundle format gateway and hosts read (the bundler writes it): tar.gz with manifest.json at the root.
export * from './archive.ts'
export * from './manifest.ts'
// "Did you mean" hints for unknown keys and names.
export { didYouMean, editDistance } from './suggest.ts'
// Why a request got no answer, for logs (undici says only "fetch failed").
export { describeNetworkError } from './network-errors.ts'
