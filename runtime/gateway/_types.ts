import type { FunctionRef } from '../protocol/index.ts'
import type { PlacementRequest } from '../scheduler/index.ts'

/** What the gateway needs to place and dispatch an operation; stored beside it, never on the wire. */
export interface DispatchPlan {
  function: FunctionRef
  placement: PlacementRequest
  /** Attempts one run may use (the manifest's max_attempts); a resume grants this many again. */
  attempt_budget: number
}
