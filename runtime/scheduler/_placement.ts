/**
 * Pure placement: no I/O, no clocks, no allocation per host scanned. The gateway keeps one
 * HostView per registered host up to date and asks `placeOperation` which one gets the next job.
 */

/** What the scheduler needs to know about a host. The gateway mutates these in place. */
export interface HostView {
  id: string
  workerType: string
  /** Healthy, registered, not draining. */
  schedulable: boolean
  gpu: boolean
  ib: boolean
  llm: boolean
  memoryGb: number
  labels: ReadonlySet<string>
  slots: number
  /** Invocations running or being dispatched there. */
  running: number
  /** Epoch ms this host was last chosen (LRU tie-break). 0 = never. */
  lastSelected: number
  /** sha256 of bundles unpacked on the host. */
  warm: ReadonlySet<string>
}

export interface PlacementRequirements {
  workerTypes?: readonly string[] | null
  gpu?: boolean
  ib?: boolean
  llm?: boolean
  minMemoryGb?: number
  labels?: readonly string[]
}

export interface PlacementRequest {
  requires: PlacementRequirements
  /** Rank GPU hosts first, fall back to CPU hosts. */
  preferGpu: boolean
  /** Only GPU hosts; wait for one rather than fall back. */
  requireGpu: boolean
  /** Bundle sha: a host that has it unpacked wins ties. */
  sha256?: string
}

/** Can this host ever run the request (ignoring free slots and health)? */
export function hostMatches(host: HostView, request: PlacementRequest): boolean {
  const r = request.requires
  if (r.workerTypes && r.workerTypes.length > 0 && !r.workerTypes.includes(host.workerType)) return false
  if ((r.gpu || request.requireGpu) && !host.gpu) return false
  if (r.ib && !host.ib) return false
  if (r.llm && !host.llm) return false
  if (r.minMemoryGb && host.memoryGb < r.minMemoryGb) return false
  if (r.labels) for (const label of r.labels) if (!host.labels.has(label)) return false
  return true
}

/**
 * Scarce capabilities (gpu, ib, llm) the host has and the request does not use. A host that has
 * them is kept for the work that needs them: an IB host running backtests makes the next ib-fetch
 * queue behind them, although any other host could have run the backtests.
 */
function spareCapabilities(host: HostView, request: PlacementRequest): number {
  const r = request.requires
  return (
    (host.gpu && !(r.gpu || request.requireGpu || request.preferGpu) ? 1 : 0) + (host.ib && !r.ib ? 1 : 0) + (host.llm && !r.llm ? 1 : 0)
  )
}

/**
 * Order: (GPU first when preferred) → fewest scarce capabilities the job does not use (a GPU, IB
 * or LLM host takes other work only when no plainer host has a free slot) → least loaded
 * (running/slots) → bundle already warm → least recently selected. Returns undefined when no
 * eligible host has a free slot. `exclude` holds hosts that just refused this job.
 */
export function placeOperation(hosts: Iterable<HostView>, request: PlacementRequest, exclude?: ReadonlySet<string>): HostView | undefined {
  let best: HostView | undefined
  let bestGpu = false
  let bestSpare = 0
  let bestLoad = 0
  let bestWarm = false
  for (const host of hosts) {
    if (!host.schedulable || host.running >= host.slots) continue
    if (exclude !== undefined && exclude.size > 0 && exclude.has(host.id)) continue
    if (!hostMatches(host, request)) continue
    const gpu = request.preferGpu && host.gpu
    const spare = spareCapabilities(host, request)
    const load = host.running / host.slots
    const warm = request.sha256 !== undefined && host.warm.has(request.sha256)
    if (best === undefined || (gpu !== bestGpu && gpu) || (gpu === bestGpu && spare < bestSpare)) {
      best = host
      bestGpu = gpu
      bestSpare = spare
      bestLoad = load
      bestWarm = warm
      continue
    }
    if (gpu !== bestGpu || spare !== bestSpare) continue
    if (load !== bestLoad) {
      if (load < bestLoad) {
        best = host
        bestLoad = load
        bestWarm = warm
      }
      continue
    }
    if (warm !== bestWarm) {
      if (warm) {
        best = host
        bestWarm = warm
      }
      continue
    }
    if (host.lastSelected < best.lastSelected) {
      best = host
      bestWarm = warm
    }
  }
  return best
}

/** True when at least one known host could ever run the request (used to explain a long wait). */
export function anyHostMatches(hosts: Iterable<HostView>, request: PlacementRequest): boolean {
  for (const host of hosts) if (hostMatches(host, request)) return true
  return false
}
