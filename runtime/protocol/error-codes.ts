/** What a code means, once: the HTTP status it answers with and whether trying again can help. */
export interface ErrorCodeEntry {
  /** HTTP status of a route that throws it (also stored on the error when it fails an operation). */
  readonly status: number
  /** false: the same request fails the same way (bad input, missing data); true: later may succeed. */
  readonly retryable: boolean
  /** One sentence for docs/errors.md: when it is raised and what the caller can do. */
  readonly description: string
}

export type ErrorCodeTable = Readonly<Record<string, ErrorCodeEntry>>

/** Declares a table of codes (the runtime's below, a pack's in its own package): checks the shape, keeps the keys' types. */
export function defineErrorCodes<const T extends ErrorCodeTable>(table: T): T {
  for (const [code, entry] of Object.entries(table)) {
    if (!/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/.test(code)) throw new TypeError(`Error code ${code} must be UPPER_SNAKE_CASE`)
    if (!Number.isInteger(entry.status) || entry.status < 400 || entry.status > 599)
      throw new TypeError(`Error code ${code} needs an HTTP error status (400-599), not ${entry.status}`)
  }
  return table
}

/**
 * The runtime's codes. A code names one situation and has one status and one retryability;
 * KtrdrError takes both from here (docs/errors.md lists them with the packs' codes).
 */
export const ERROR_CODES = defineErrorCodes({
  // Requests
  BAD_REQUEST: {
    status: 400,
    retryable: false,
    description: 'The request is malformed: a field, query parameter or body shape is wrong; the message names it.',
  },
  INVALID_JSON: { status: 400, retryable: false, description: 'The request body does not parse as JSON.' },
  PATH_NOT_CANONICAL: {
    status: 400,
    retryable: false,
    description: 'The request path has dot segments, doubled or encoded slashes, or control characters.',
  },
  UNAUTHORIZED: {
    status: 401,
    retryable: false,
    description: 'Missing or wrong bearer token (KTRDR_API_TOKEN, or KTRDR_CLUSTER_TOKEN on cluster routes).',
  },
  NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'Something the request names does not exist (an HTTP 404 raised outside our own codes).',
  },
  ROUTE_NOT_FOUND: { status: 404, retryable: false, description: 'No route serves this path.' },
  METHOD_NOT_ALLOWED: {
    status: 405,
    retryable: false,
    description: 'The path exists but not for this method; the Allow header lists the ones that are served.',
  },
  UPGRADE_REQUIRED: {
    status: 426,
    retryable: false,
    description: 'The route is a WebSocket (a host channel): connect with the upgrade headers, not a plain request.',
  },
  MALFORMED_HTTP: {
    status: 400,
    retryable: false,
    description:
      "Node's HTTP parser refused the bytes of a request (its line, a header or its framing; details.parser_code names the check); the connection is closed.",
  },
  REQUEST_HEADERS_TOO_LARGE: {
    status: 431,
    retryable: false,
    description: "The request's headers exceed node's limit (16 KiB by default); the connection is closed.",
  },
  REQUEST_TIMEOUT: {
    status: 408,
    retryable: true,
    description: 'The request did not arrive in full in time (its headers or its body); the connection is closed.',
  },
  BODY_TOO_LARGE: {
    status: 413,
    retryable: false,
    description: "The request body exceeds the route's byte limit (KTRDR_MAX_BODY_BYTES; uploads KTRDR_MAX_BUNDLE_BYTES).",
  },
  INTERNAL_ERROR: {
    status: 500,
    retryable: true,
    description: 'An unexpected error in the gateway or a host; the message says what failed.',
  },
  CONFIG_INVALID: {
    status: 500,
    retryable: false,
    description: 'An option or environment variable of a gateway, host or function has a value it cannot use; fix it and restart.',
  },
  INSECURE_BIND: {
    status: 400,
    retryable: false,
    description: 'Refusing to listen on a non-loopback address without the tokens; set them or pass --insecure.',
  },

  // Invocations and operations
  INPUT_INVALID: {
    status: 422,
    retryable: false,
    description: "The invocation's input does not match the function's input schema or its own checks.",
  },
  IDEMPOTENCY_CONFLICT: {
    status: 409,
    retryable: false,
    description: 'The idempotency_key already belongs to an operation of another function: use a new key.',
  },
  IDEMPOTENCY_KEY_BUSY: {
    status: 409,
    retryable: true,
    description: 'A concurrent request is creating the operation for this idempotency_key: retry to get it.',
  },
  NO_CAPACITY: {
    status: 503,
    retryable: true,
    description: 'queue:false and no capable host has a free slot (or none can run the function at all).',
  },
  OPERATION_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No operation with this id (finished ones are deleted after the retention period).',
  },
  OPERATION_FINISHED: {
    status: 400,
    retryable: false,
    description: 'The operation has already finished: only pending or running operations can be cancelled.',
  },
  NOT_RESUMABLE: { status: 409, retryable: false, description: 'Only cancelled or failed operations can be resumed.' },
  CANCELLED: { status: 499, retryable: false, description: 'The operation was cancelled (by a caller, or by the host shutting down).' },
  DISPATCH_REJECTED: {
    status: 502,
    retryable: false,
    description: 'A host refused the invocation as malformed (HTTP 4xx): another host would refuse it too.',
  },
  HOST_LOST: {
    status: 503,
    retryable: true,
    description: 'The host running the operation stopped answering and its attempts are used up: resume the operation.',
  },
  FUNCTION_TIMEOUT: { status: 504, retryable: false, description: 'The function ran past its timeout_seconds and was stopped.' },
  FUNCTION_ERROR: {
    status: 500,
    retryable: true,
    description: "The function threw an error without a code; the message is the error's own.",
  },
  FUNCTION_CRASHED: {
    status: 500,
    retryable: false,
    description: 'The executor process running the function exited unexpectedly; the message has the last lines of its stderr.',
  },
  FUNCTION_OUT_OF_MEMORY: {
    status: 500,
    retryable: false,
    description: "The function went over the executor's memory limit (KTRDR_HOST_EXECUTOR_MEMORY_MB) and was stopped.",
  },
  EXECUTOR_SPAWN_FAILED: {
    status: 503,
    retryable: true,
    description: 'The host could not start an executor process (out of processes or memory).',
  },

  // Functions: bundles, versions, aliases, secrets
  FUNCTION_NAME_INVALID: {
    status: 400,
    retryable: false,
    description: 'A function name must be lowercase letters, digits and dashes, starting with a letter.',
  },
  FUNCTION_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No function of this name has been published: deploy it with `ktrdr fn deploy`.',
  },
  VERSION_NOT_FOUND: { status: 404, retryable: false, description: 'The function has no such version (deleted or never published).' },
  ALIAS_NOT_FOUND: { status: 404, retryable: false, description: 'The function has no alias of this name.' },
  ALIAS_TARGET_NOT_FOUND: { status: 422, retryable: false, description: 'An alias route names a version the function does not have.' },
  NO_PREVIOUS_VERSION: { status: 409, retryable: false, description: 'Rollback needs a version older than the current one.' },
  FUNCTION_SOURCE_NOT_FOUND: { status: 404, retryable: false, description: 'No function folder at the path given to the bundler.' },
  FUNCTION_SOURCE_EXISTS: {
    status: 409,
    retryable: false,
    description: '`ktrdr fn new` would write into a folder that already exists: pick another name or remove it.',
  },
  FUNCTION_SOURCE_OUTSIDE_PROJECT: {
    status: 400,
    retryable: false,
    description: "A new function's folder must be inside the project, whose node_modules its imports resolve from.",
  },
  FUNCTION_TYPECHECK_FAILED: {
    status: 422,
    retryable: false,
    description: "The function's TypeScript has type errors (tsc's messages are in the error); `--no-typecheck` builds anyway.",
  },
  FUNCTION_TYPECHECK_UNAVAILABLE: {
    status: 500,
    retryable: false,
    description: 'TypeScript (a devDependency) is not installed where the function is built: install it or build with `--no-typecheck`.',
  },
  FUNCTION_DECLARATION_INVALID: { status: 422, retryable: false, description: "The function's storage or env declaration is invalid." },
  BUNDLE_MISSING: { status: 400, retryable: false, description: 'The publish request has no body: send the tar.gz from `ktrdr fn build`.' },
  BUNDLE_TOO_LARGE: { status: 413, retryable: false, description: 'The bundle archive exceeds the upload limit (KTRDR_MAX_BUNDLE_BYTES).' },
  BUNDLE_INCOMPLETE: {
    status: 400,
    retryable: true,
    description: 'The bundle upload ended before the whole archive arrived (the client went away): send it again.',
  },
  BUNDLE_CORRUPT: {
    status: 422,
    retryable: false,
    description: 'The bundle archive is not a readable tar.gz, is empty, or holds an unsafe path.',
  },
  BUNDLE_MANIFEST_INVALID: {
    status: 422,
    retryable: false,
    description: "The bundle's manifest.json is missing, does not parse or does not validate.",
  },
  BUNDLE_NAME_MISMATCH: {
    status: 422,
    retryable: false,
    description: "The bundle's manifest names another function than the one it is published as.",
  },
  BUNDLE_CONFIG_INVALID: { status: 422, retryable: false, description: "The function folder's bundle.json is not valid JSON." },
  BUNDLE_BUILD_FAILED: { status: 422, retryable: false, description: 'Nitro could not build the function.' },
  BUNDLE_IMPORT_FAILED: {
    status: 422,
    retryable: false,
    description: 'The built bundle throws when it is loaded, or does not export a function.',
  },
  BUNDLE_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'The bundle a version points at is not in the bundles storage: publish it again.',
  },
  BUNDLE_SHA_MISMATCH: { status: 422, retryable: false, description: "The stored bundle's sha256 differs from the published one." },
  BUNDLE_FETCH_FAILED: { status: 503, retryable: true, description: 'A host could not read a bundle from the bundles storage.' },
  MANIFEST_SCHEMA_INVALID: {
    status: 500,
    retryable: false,
    description: "The function's input schema does not compile: rebuild and redeploy the function.",
  },
  SECRET_NAME_INVALID: {
    status: 400,
    retryable: false,
    description: 'A secret name must be an environment variable name and not KTRDR_*.',
  },
  SECRET_VALUE_INVALID: { status: 400, retryable: false, description: 'A secret is sent as {"value": "<string>"} without NUL bytes.' },
  SECRET_TOO_LARGE: { status: 413, retryable: false, description: 'A secret may hold at most 64 KiB.' },
  SECRET_NOT_FOUND: { status: 404, retryable: false, description: 'The function has no secret of this name.' },
  SECRET_UNREADABLE: {
    status: 500,
    retryable: false,
    description: "A stored secret does not decrypt with this gateway's key (KTRDR_SECRETS_KEY or secrets.key changed).",
  },

  // Hosts and workers
  WORKER_NOT_FOUND: { status: 404, retryable: false, description: 'No worker with this id is registered (a host re-registers by itself).' },
  WORKER_ID_TAKEN: {
    status: 409,
    retryable: false,
    description: 'Another host registered this worker id: give each host its own WORKER_ID.',
  },
  ENDPOINT_IN_USE: { status: 409, retryable: false, description: 'Another registered worker answers at this endpoint_url.' },
  HOST_SECRET_MISMATCH: { status: 403, retryable: false, description: 'Only the host that registered a worker id may report for it.' },
  HOST_BUSY: { status: 503, retryable: true, description: 'The host has no free slot or is draining; the gateway tries another.' },
  OPERATION_NOT_RUNNING: { status: 404, retryable: false, description: 'The operation is not running on this host.' },
  DATABASE_LOCKED: { status: 409, retryable: false, description: 'Another gateway holds the database: one gateway per database.' },

  // Storage
  MOUNT_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: 'No storage mount of this name (data, models, bundles, results, strategies, checkpoints).',
  },
  INVALID_KEY: {
    status: 400,
    retryable: false,
    description:
      'A results or models key segment is empty, hidden, "..", over 200 bytes, has a control character, or is not valid percent-encoding.',
  },
  CAPABILITY_INVALID: {
    status: 401,
    retryable: false,
    description: "A function's storage capability is missing, unknown or expired (it ends with its invocation).",
  },
  STORAGE_SCOPE_DENIED: { status: 403, retryable: false, description: 'The function touched storage outside its declared scope.' },
  GATEWAY_STANDBY: {
    status: 503,
    retryable: true,
    description: 'This gateway is the standby of a PostgreSQL pair; the error names the active one to callers with a token.',
  },
  GATEWAY_NOT_ACTIVE: {
    status: 503,
    retryable: true,
    description: 'This gateway lost the leader lock to a newer one; retry against the active gateway.',
  },
  DOCS_ASSETS_MISSING: {
    status: 503,
    retryable: false,
    description: 'The API reference page cannot be served: swagger-ui-dist is not installed beside the gateway.',
  },
  ASSET_NOT_FOUND: { status: 404, retryable: false, description: 'No static file at this path under a served prefix (the dashboard).' },
  STORAGE_KEY_INVALID: {
    status: 400,
    retryable: false,
    description:
      'A storage key is empty, has a `.` or `..` segment (or one ending in `..`), a control character, or is too long for a file name (200 bytes a segment, 1,024 a key).',
  },
  STORAGE_READ_ONLY: { status: 403, retryable: false, description: 'A write or removal on a read-only storage mount.' },
  STORAGE_FULL: { status: 507, retryable: true, description: 'No space left on the filesystem behind a mount.' },

  // Local LLMs (hosts with the llm capability)
  LLM_UNAVAILABLE: {
    status: 500,
    retryable: false,
    description: "node-llama-cpp has no prebuilt llama.cpp binary for this host's platform (it is never compiled or downloaded).",
  },
  LLM_MODEL_UNKNOWN: {
    status: 422,
    retryable: false,
    description: 'The model is neither served by a registered llm host nor published to the models mount (`ktrdr llm publish`).',
  },
  LLM_MODEL_CORRUPT: {
    status: 422,
    retryable: false,
    description: 'The GGUF in the models mount does not match the sha256 recorded when it was published: publish it again.',
  },
  LLM_MODEL_INVALID: { status: 422, retryable: false, description: 'llama.cpp could not load the GGUF file (not a model, or truncated).' },
  LLM_GENERATION_FAILED: {
    status: 500,
    retryable: true,
    description: 'llama.cpp failed while generating (context or memory exhausted, or an internal error); trying again may succeed.',
  },
})

export type RuntimeErrorCode = keyof typeof ERROR_CODES

const registry = new Map<string, ErrorCodeEntry>(Object.entries(ERROR_CODES))
const owners = new Map<string, string>(Object.keys(ERROR_CODES).map((code) => [code, 'runtime']))

/**
 * Adds a pack's codes (the trading domain's, for one) to the catalog KtrdrError reads. A code
 * already registered by the runtime or another pack is refused: a code has one meaning. The same
 * table registered again (a module evaluated twice) is a no-op.
 */
export function registerErrorCodes(owner: string, table: ErrorCodeTable): void {
  for (const [code, entry] of Object.entries(table)) {
    const known = registry.get(code)
    if (known && known !== entry)
      throw new TypeError(`Error code ${code} of ${owner} is already defined by ${owners.get(code)}: pick another name`)
  }
  for (const [code, entry] of Object.entries(table)) {
    registry.set(code, entry)
    owners.set(code, owner)
  }
}

/** The catalog entry of a code, or undefined when neither the runtime nor a loaded pack defines it. */
export function errorCodeEntry(code: string): ErrorCodeEntry | undefined {
  return registry.get(code)
}

/** Every registered code with its entry and owner (docs/errors.md is generated from this). */
export function listErrorCodes(): { code: string; owner: string; entry: ErrorCodeEntry }[] {
  return [...registry].map(([code, entry]) => ({ code, owner: owners.get(code)!, entry }))
}
