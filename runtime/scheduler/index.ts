// Public entry of the scheduler: pure placement and queue ordering, no I/O (the gateway does the I/O).
export { placeOperation, hostMatches, anyHostMatches } from './_placement.ts'
export type { HostView, PlacementRequest, PlacementRequirements } from './_placement.ts'
export { createPendingQueue } from './_queue.ts'
export type { PendingQueue, QueueEntry } from './_queue.ts'
