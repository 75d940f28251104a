import { z } from 'zod'
import type { RouteDoc, RouteInfo, RouteMedia } from '../http/index.ts'
import type { FunctionRegistry } from './registry/_types.ts'

type Schema = Record<string, unknown>

/** zod → JSON Schema 2020-12, the dialect of OpenAPI 3.1 (its own `$schema` dropped). */
export function jsonSchemaOf(schema: z.ZodType): Schema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema
  return rest
}

const isMedia = (value: unknown): value is RouteMedia => typeof value === 'object' && value !== null && 'contentType' in value

const ERROR: Schema = {
  type: 'object',
  description: 'Every error of the API, from the gateway and from functions alike',
  required: ['statusCode', 'code', 'message', 'retryable'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string', description: 'Stable machine-readable code (BAD_REQUEST, OPERATION_NOT_FOUND, …)' },
    message: { type: 'string', description: 'What was wrong and what to do' },
    retryable: { type: 'boolean', description: 'Whether the same request may succeed later' },
    details: { description: 'E.g. `{field}` naming the offending field' },
  },
}

const LIST_PAGE: Schema = {
  type: 'object',
  description: 'The list envelope of our own lists (the deployment guide’s routes keep the guide’s shapes)',
  required: ['data', 'total_count', 'limit', 'offset'],
  properties: {
    data: { type: 'array', items: {} },
    total_count: { type: 'integer', description: 'Items before paging' },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
  },
}

const OPERATION: Schema = {
  type: 'object',
  description: 'An operation: one invocation of a function, durable, with its attempts (docs/architecture.md)',
  required: ['operation_id', 'operation_type', 'status', 'function', 'progress', 'created_at'],
  properties: {
    operation_id: { type: 'string', examples: ['op_dummy_20250101_120000_1a2b3c4d'] },
    operation_type: { type: 'string' },
    status: { enum: ['pending', 'running', 'completed', 'failed', 'cancelled'] },
    function: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'integer' }, sha256: { type: 'string' } } },
    input: {},
    progress: {
      type: 'object',
      properties: { percentage: { type: 'number' }, current_step: { type: ['string', 'null'] }, context: { type: 'object' } },
    },
    result: {},
    error: { oneOf: [{ $ref: '#/components/schemas/Error' }, { type: 'null' }] },
    worker_id: { type: ['string', 'null'] },
    attempts: { type: 'integer' },
    max_attempts: { type: 'integer' },
    priority: { type: 'integer' },
    created_at: { type: 'string', format: 'date-time' },
    started_at: { type: ['string', 'null'] },
    completed_at: { type: ['string', 'null'] },
    timings: { type: 'object' },
    metadata: { type: 'object' },
  },
}

/** Section of a route from its path: /api/v1/<first segment>, else the first segment. */
function tagOf(route: RouteInfo): string {
  if (route.doc?.tag) return route.doc.tag
  const segs = route.path.split('/').filter(Boolean)
  const first = segs[0] === 'api' ? segs[2] : segs[0]
  return first ?? 'service'
}

/** OpenAPI path of a route pattern: `:name` → `{name}`, `**` → `{key}` (the rest of the path). */
export function openApiPath(pattern: string): string {
  return (
    pattern
      .replace(/\/$/, '')
      .replace(/:(\w+)/g, '{$1}')
      .replace(/\*\*/g, '{key}') || '/'
  )
}

const security = (auth: RouteInfo['auth']) => (auth === 'public' ? [] : [{ [auth === 'cluster' ? 'clusterToken' : 'apiToken']: [] }])

function content(what: RouteDoc['body'] | RouteDoc['response'], examples?: Record<string, unknown>): Schema | undefined {
  if (!what) return undefined
  if (what === 'list') return { 'application/json': { schema: { $ref: '#/components/schemas/ListPage' } } }
  if (what === 'operation') return { 'application/json': { schema: { $ref: '#/components/schemas/Operation' } } }
  if (isMedia(what)) return { [what.contentType]: { schema: { type: 'string', description: what.description } } }
  return {
    'application/json': {
      schema: jsonSchemaOf(what),
      ...(examples ? { examples: Object.fromEntries(Object.entries(examples).map(([k, value]) => [k, { value }])) } : {}),
    },
  }
}

function operationOf(route: RouteInfo, method: string): Schema {
  const doc = route.doc
  const params: Schema[] = [...route.path.matchAll(/:(\w+)|\*\*/g)].map((m) => ({
    name: m[1] ?? 'key',
    in: 'path',
    required: true,
    schema: { type: 'string' },
    ...(m[1] ? {} : { description: 'The rest of the path: a storage key, may contain /' }),
  }))
  if (doc?.query) {
    const q = jsonSchemaOf(doc.query) as { properties?: Record<string, Schema>; required?: string[] }
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      const { description, ...rest } = schema
      params.push({ name, in: 'query', required: false, schema: rest, ...(description ? { description } : {}) })
    }
  }
  const writes = method === 'post' || method === 'put' || method === 'patch'
  const body =
    content(doc?.body, doc?.examples) ??
    (writes
      ? route.body === 'upload'
        ? { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } }
        : { 'application/json': { schema: { type: 'object' } } }
      : undefined)
  const status = String(doc?.status ?? 200)
  return {
    operationId: `${method}${openApiPath(route.path)
      .replace(/[{}]/g, '')
      .replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: doc?.summary ?? `${method.toUpperCase()} ${route.path}`,
    ...(doc?.description ? { description: doc.description } : {}),
    tags: [tagOf(route)],
    security: security(route.auth),
    ...(params.length ? { parameters: params } : {}),
    ...(body ? { requestBody: { required: !!doc?.body, content: body } } : {}),
    responses: {
      [status]: { description: 'Success', ...(doc?.response ? { content: content(doc.response) } : {}) },
      '4XX': {
        description: 'Refused: what was wrong is in the body',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
      '5XX': { description: 'Failed on our side', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  }
}

/**
 * The OpenAPI 3.1 document of a gateway: every route of its table (runtime and packs), query and
 * body schemas from the zod schemas the routes validate with, and the input schema of each
 * deployed function (its latest version) with a path of its own for invoking it.
 */
export async function buildOpenApiDocument(deps: {
  routes: readonly RouteInfo[]
  functions: FunctionRegistry
  invokeSchema: z.ZodType
  version: string
}): Promise<Schema> {
  const paths: Record<string, Record<string, Schema>> = {}
  for (const route of deps.routes) {
    const path = openApiPath(route.path)
    const methods = route.method === 'all' ? ['get', 'put', 'delete'] : [route.method]
    for (const method of methods) (paths[path] ??= {})[method] = operationOf(route, method)
  }

  const schemas: Record<string, Schema> = {
    Error: ERROR,
    ListPage: LIST_PAGE,
    Operation: OPERATION,
    InvokeRequest: jsonSchemaOf(deps.invokeSchema),
  }
  const listed = await deps.functions.listFunctions().catch(() => [])
  for (const fn of listed.sort((a, b) => a.name.localeCompare(b.name))) {
    if (fn.latest === null) continue
    const version = await deps.functions.getVersion(fn.name, fn.latest)
    if (!version) continue
    const { $schema: _drop, ...input } = (version.manifest.input_schema ?? {}) as Schema
    // Its own $id, so that "#/$defs/…" references inside it resolve within it, not the document.
    const key = `FunctionInput_${fn.name.replace(/[^A-Za-z0-9_]/g, '_')}`
    schemas[key] = { $id: `urn:ktrdr:function:${fn.name}:input`, ...input }
    const base = paths['/api/v1/functions/{name}/invoke']?.post
    paths[`/api/v1/functions/${fn.name}/invoke`] = {
      post: {
        ...base,
        operationId: `invoke_${fn.name.replace(/[^A-Za-z0-9]/g, '_')}`,
        summary: `Invoke ${fn.name}@${version.version}`,
        description: version.manifest.description || undefined,
        tags: ['function invocations'],
        security: security('api'),
        parameters: [],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                allOf: [{ $ref: '#/components/schemas/InvokeRequest' }, { properties: { input: { $ref: `#/components/schemas/${key}` } } }],
              },
            },
          },
        },
      },
    }
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'KTRDR gateway API',
      version: deps.version,
      description:
        'Functions, operations, workers and the research views of a KTRDR cluster. Every GET also answers HEAD. Lists of our own answer `{data, total_count, limit, offset}`; the deployment guide’s routes keep the guide’s shapes. Errors: `{statusCode, code, message, retryable, details}`.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      securitySchemes: {
        apiToken: { type: 'http', scheme: 'bearer', description: 'KTRDR_API_TOKEN' },
        clusterToken: { type: 'http', scheme: 'bearer', description: 'KTRDR_CLUSTER_TOKEN (hosts only)' },
      },
      schemas,
    },
    security: [{ apiToken: [] }],
    paths,
  }
}
