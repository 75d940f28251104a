// The one seam between the grammar and the indicator registry: the parser resolves types and
// params through these two calls only, so the registry can change without touching the grammar.
export { getIndicator, resolveIndicatorParams } from '../indicators/registry.ts'
