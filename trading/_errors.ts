// The core library throws the same error type as the runtime so a route or a function
// invocation serialises it without translation. errors.ts is a dependency-free leaf module.
export { KtrdrError, createKtrdrError, isKtrdrError } from '../runtime/protocol/index.ts'
