// The one seam between the grammar and the indicator registry (engineer C's area).
export { getIndicator, resolveIndicatorParams } from '../indicators/registry.ts'
