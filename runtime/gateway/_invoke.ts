import type { KtrdrStorage } from '../../storage/index.ts'
import type { InvokeRequest, Operation } from '../protocol/index.ts'
import { KtrdrError } from '../protocol/index.ts'
import { anyHostMatches, placeOperation, type PlacementRequest } from '../scheduler/index.ts'
import type { Dispatcher } from './_dispatcher.ts'
import type { ResolvedGatewayOptions } from './_options.ts'
import { isTerminal, type OperationsService } from './_operations.ts'
import type { InvokeChecks } from './_invoke-checks.ts'
import type { InputValidator } from './_validate.ts'
import { invokeRequestSchema } from './_invoke-schema.ts'
import type { WorkerRegistry } from './_workers.ts'
import type { DispatchPlan } from './_types.ts'
import type { FunctionRegistry, ResolvedFunction } from './registry/_types.ts'
import { FUNCTION_NAME_RE } from '../protocol/index.ts'

/** `name`, `name@<version>` or `name@<alias>`. */
const INVOKE_NAME = new RegExp(`${FUNCTION_NAME_RE.source.slice(0, -1)}(@[A-Za-z0-9._-]+)?$`)

// The body of POST /api/v1/functions/:name/invoke is a protocol type: clients (the CLI's invoke
// channel) send it too.
export type { InvokeRequest } from '../protocol/index.ts'

/** What an in-process caller adds to a request; nothing an HTTP body can set. */
export interface InvokeOptions {
  /** Aborted when the caller goes away (ends a wait_seconds wait). */
  signal?: AbortSignal
  /**
   * false: the packs' invoke checks are skipped, for a caller that admitted this input itself (a
   * fan-out parent whose request was checked when it was accepted). They are an early answer only:
   * the host validates the input again and fails the operation with the same code.
   */
  checks?: boolean
}

/** Resolves `name[@version|alias]`, validates the input, accepts (durably) and waits up to `wait_seconds`. */
export type Invoker = (name: string, request: InvokeRequest, options?: InvokeOptions) => Promise<InvokeResult>

export interface InvokeResult {
  statusCode: 200 | 202
  operation: Operation
  reused: boolean
  /** Said to the caller, never stored: e.g. that no registered host can run the function yet. */
  warnings: string[]
  /**
   * The operation's JSON as a commit wrote it, where that is the state answered: a 202 answered at
   * once (its accept's insert), or a call that finished before its insert was written (the row
   * written finished). The answer is that text (invokeAnswerJson), not the operation serialized once
   * more, so it states exactly what was made durable.
   */
  committed?: string
}

/**
 * An invoke answer's body as JSON text, the same over HTTP and the client channel: the operation,
 * with `warnings` when there are any. An accept answered at once reuses the JSON its commit wrote
 * rather than serializing the operation (and a copy of it with the warnings) once more: the accept
 * path over the client channel, in process at c=16, took 59–75 µs of CPU per accept instead of
 * 64–91 (medians of three alternating runs).
 */
export function invokeAnswerJson(result: InvokeResult): string {
  const json = result.committed ?? JSON.stringify(result.operation)
  // The operation's JSON is always an object's: `warnings` goes in before its closing brace.
  return result.warnings.length ? `${json.slice(0, -1)},"warnings":${JSON.stringify(result.warnings)}}` : json
}

function bad(field: string, message: string): never {
  throw new KtrdrError({ code: 'BAD_REQUEST', message: `${field} ${message}`, details: { field } })
}

/** Type checks on the envelope (the input itself is checked against the function's schema), with invokeRequestSchema. */
export function checkInvokeRequest(body: Record<string, unknown>, maxWaitSeconds: number): InvokeRequest {
  const parsed = invokeRequestSchema(maxWaitSeconds).safeParse(body)
  if (parsed.success) return body as InvokeRequest
  const issue = parsed.error.issues[0]!
  if (issue.code === 'unrecognized_keys')
    bad(issue.keys[0]!, `is not a known field: put function arguments under "input" (known: ${INVOKE_FIELDS.join(', ')})`)
  bad(String(issue.path[0]), issue.message)
}

const INVOKE_FIELDS = [
  'input',
  'version',
  'idempotency_key',
  'wait_seconds',
  'prefer_gpu',
  'require_gpu',
  'priority',
  'queue',
  'max_attempts',
  'metadata',
  'parent_operation_id',
]

export function placementFor(fn: ResolvedFunction, request: InvokeRequest): PlacementRequest {
  const p = fn.manifest.placement ?? {}
  const r = p.requires ?? {}
  return {
    requires: {
      workerTypes: p.worker_types ?? null,
      gpu: !!r.gpu,
      ib: !!r.ib,
      llm: !!r.llm,
      minMemoryGb: r.min_memory_gb,
      labels: r.labels,
    },
    preferGpu: request.prefer_gpu ?? request.require_gpu ?? !!p.prefers?.gpu,
    requireGpu: request.require_gpu ?? false,
    sha256: fn.sha256,
  }
}

/** "worker type general or training, ib", from the manifest and the request. */
function describePlacement(fn: ResolvedFunction, placement: PlacementRequest): string {
  const p = fn.manifest.placement ?? {}
  const parts: string[] = []
  if (p.worker_types?.length) parts.push(`worker type ${p.worker_types.join(' or ')}`)
  for (const [key, value] of Object.entries(p.requires ?? {})) {
    if (value === true) parts.push(key)
    else if (Array.isArray(value) ? value.length : value) parts.push(`${key} ${Array.isArray(value) ? value.join(', ') : value}`)
  }
  if (placement.requireGpu && !parts.includes('gpu')) parts.push('gpu')
  return parts.join(', ') || 'any host'
}

/** Resolve → validate → persist → queue → (optionally) wait. Shared by invoke and the compat routes. */
export function createInvoker(deps: {
  options: ResolvedGatewayOptions
  functions: FunctionRegistry
  operations: OperationsService
  workers: WorkerRegistry
  dispatcher: Dispatcher
  validateInput: InputValidator
  /** Packs' checks of a function's input (defineInvokeCheck), run before the operation exists. */
  checks: InvokeChecks
  storage: KtrdrStorage
}): Invoker {
  const { options, functions, operations, workers, dispatcher } = deps
  // One frozen plan per function version and request flags, shared by its operations: the store
  // writes a plan's JSON once (_store-rows.ts), not once per accepted invocation.
  const plans = new Map<string, DispatchPlan>()
  function planFor(fn: ResolvedFunction, request: InvokeRequest): DispatchPlan {
    const attemptBudget = Math.max(1, request.max_attempts ?? (fn.manifest.max_attempts || options.queue.maxAttempts))
    const key = `${fn.sha256}\0${fn.name}\0${fn.version}\0${fn.bundle_key}\0${request.prefer_gpu}\0${request.require_gpu}\0${attemptBudget}`
    let plan = plans.get(key)
    if (!plan) {
      const placement = placementFor(fn, request)
      Object.freeze(placement.requires)
      plan = Object.freeze({
        function: Object.freeze({
          name: fn.name,
          version: fn.version,
          sha256: fn.sha256,
          bundle_key: fn.bundle_key,
          timeout_seconds: fn.manifest.timeout_seconds || 3600,
        }),
        placement: Object.freeze(placement),
        attempt_budget: attemptBudget,
      })
      if (plans.size >= 1024) plans.clear()
      plans.set(key, plan)
    }
    return plan
  }

  /**
   * The operation as an answer may state it: once the state it reports is committed (and its insert,
   * when that was left for later). flushed() is asked as soon as the wait ends, so it joins the
   * commit that the host's event acknowledgement asks for in the same turn rather than the one after.
   */
  async function answerable(waited: Promise<Operation>, written?: Promise<string>): Promise<{ op: Operation; json?: string }> {
    let inserted: string | undefined
    void written?.then((json) => (inserted = json))
    const op = await waited
    // An insert still to be written when the operation finished writes it finished: that JSON is the
    // answer (the same object serialized once, not twice; 2.6 % of the gateway's busy time on
    // no-op calls at c=16), unless the operation changed again before the commit (a resume).
    const final = inserted === undefined && isTerminal(op) ? op.updated_at : null
    await Promise.all([operations.flushed([op.operation_id]), written])
    return { op, json: final !== null && isTerminal(op) && op.updated_at === final ? inserted : undefined }
  }

  return async function invoke(name: string, request: InvokeRequest, call: InvokeOptions = {}): Promise<InvokeResult> {
    const { signal } = call
    if (!INVOKE_NAME.test(name)) bad('name', `"${name}" is not a function name (name, name@<version> or name@<alias>)`)
    const spec = request.version !== undefined && !name.includes('@') ? `${name}@${request.version}` : name
    const wait = Math.min(request.wait_seconds ?? 0, options.queue.maxWaitSeconds) * 1000

    if (request.idempotency_key) {
      const existing = await operations.byIdempotencyKey(request.idempotency_key)
      if (existing) {
        if (existing.op.function.name !== spec.split('@')[0]) {
          throw new KtrdrError({
            code: 'IDEMPOTENCY_CONFLICT',
            message: `idempotency_key "${request.idempotency_key}" already belongs to ${existing.op.operation_id} (function ${existing.op.function.name}): use a new key`,
          })
        }
        const { op } = await answerable(operations.waitFinished(existing.op.operation_id, wait, signal))
        return {
          statusCode: op.status === 'completed' || op.status === 'failed' || op.status === 'cancelled' ? 200 : 202,
          operation: op,
          reused: true,
          warnings: [],
        }
      }
    }

    const fn = await functions.resolve(spec)
    const input = request.input ?? {}
    deps.validateInput(fn.sha256, fn.manifest.input_schema, input, `${fn.name}@${fn.version}`)
    const checked =
      call.checks === false
        ? []
        : await deps.checks.run(input, {
            function: { name: fn.name, version: fn.version, manifest: fn.manifest },
            storage: deps.storage,
            signal,
          })
    const plan = planFor(fn, request)
    const placement = plan.placement

    if (request.queue === false && !placeOperation(workers.views, placement)) {
      const capable = anyHostMatches(workers.views, placement)
      throw new KtrdrError({
        code: 'NO_CAPACITY',
        message: capable
          ? `No capable host has a free slot for ${fn.name} right now: retry later, or omit "queue": false to wait in the queue`
          : `No registered host can run ${fn.name} (needs ${describePlacement(fn, placement)}): start a matching host`,
        details: { registered_workers: workers.views.length, capable_hosts: capable },
      })
    }

    // Queueing for a host that does not exist yet is legitimate (an IB or GPU host may be starting),
    // but a caller staring at a pending operation deserves to know why it waits.
    const warnings = anyHostMatches(workers.views, placement)
      ? [...checked]
      : [
          ...checked,
          `No registered host can run ${fn.name} yet (needs ${describePlacement(fn, placement)}): the operation waits in the queue until one registers`,
        ]

    const { op, written } = await operations.create({
      fn,
      input,
      plan,
      priority: request.priority ?? 0,
      idempotencyKey: request.idempotency_key ?? null,
      metadata: request.metadata,
      parentOperationId: request.parent_operation_id ?? null,
      // A caller that waits learns of the operation only from the answer, given after the commit
      // below: its row needs no commit of its own before it runs. Not with an idempotency key: a
      // retry after a gateway crash must find the operation that may have run.
      writeLater: wait > 0 && !request.idempotency_key,
    })
    dispatcher.kick()
    if (wait <= 0) return { statusCode: 202, operation: op, reused: false, warnings, committed: await written }
    const { op: finished, json } = await answerable(operations.waitFinished(op.operation_id, wait, signal), written)
    const done = isTerminal(finished)
    return { statusCode: done ? 200 : 202, operation: finished, reused: false, warnings: done ? [] : warnings, committed: json }
  }
}
