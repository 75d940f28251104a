// Public entry of the wire protocol shared by gateway, scheduler and hosts.
export * from './worker.ts'
export * from './operation.ts'
export * from './function.ts'
export * from './errors.ts'
export * from './config.ts'
