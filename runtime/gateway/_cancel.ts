import type { StoredOperation } from './_store.ts'
import type { GatewayServices } from './_services.ts'

/**
 * Cancels an operation and every live operation under it (its children, theirs…): a running one is
 * told to stop on its host. `root` may be null when the parent is not an operation row (a pack's
 * own parent, e.g. a research loop); its children are cancelled all the same. Returns the ids
 * cancelled. Callers await `operations.flushed()` before acknowledging.
 */
export function cancelOperationTree(
  services: Pick<GatewayServices, 'operations' | 'dispatcher'>,
  root: StoredOperation | string,
  reason: string,
): string[] {
  const id = typeof root === 'string' ? root : root.op.operation_id
  const cancelled: string[] = []
  const stop = (s: StoredOperation, why: string) => {
    const workerId = s.op.worker_id
    const wasRunning = s.op.status === 'running'
    services.operations.cancel(s, why)
    if (wasRunning) services.dispatcher.forwardCancel(workerId, s.op.operation_id)
    cancelled.push(s.op.operation_id)
  }
  // Children first: once the parent is finished nothing new should start under it.
  for (const child of services.operations.liveDescendants(id)) stop(child, `Parent ${id} cancelled: ${reason}`)
  if (typeof root !== 'string') stop(root, reason)
  return cancelled
}
