// Public entry for function authors: defineFunction, the context a function gets, and the helpers
// that run a function in-process in tests. The host's executor child (executor.ts) is not part of it.
export { defineFunction } from './define.ts'
export type { FunctionContext, FunctionDefinition, OperationProgress, ProgressUpdate } from './define.ts'
export { describeFunction, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_SECONDS, type FunctionDescription } from './_describe.ts'
export { createFunctionContext, type FunctionContextOptions } from './context.ts'
export { createTempStorage, runFunctionInProcess, type RunInProcessOptions, type RunInProcessResult } from './testing.ts'
// For hosts: the same scope check executors apply, on the host's storage endpoint; and the
// storage an executor hands its function (the host's tests run the storage contract over it).
export { checkStorageScope, createScopedStorage, scopeDriver } from './_scope.ts'
