import { defineEventHandler, getRequestHeader, getRouterParam, setResponseStatus, type H3Event } from 'h3'
import { KtrdrError } from '../../runtime/protocol/index.ts'
import { defineGatewayRoutes } from '../../runtime/gateway/index.ts'
import { validateStrategy } from '../../trading/index.ts'

const NAME_RE = /^[A-Za-z0-9_\-.]+$/
const DEFAULT_MAX = 1024 * 1024

async function readText(event: H3Event, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of event.node.req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) throw new KtrdrError({ statusCode: 413, code: 'BODY_TOO_LARGE', retryable: false, message: `Strategy body exceeds ${maxBytes} bytes` })
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}

/** Body `{yaml}` (JSON) or the raw YAML itself (any other content type). */
async function readStrategySource(event: H3Event, maxBytes: number): Promise<{ source: string; file?: string }> {
  const text = await readText(event, maxBytes)
  const type = getRequestHeader(event, 'content-type') ?? ''
  if (type.includes('json')) {
    let body: unknown
    try { body = JSON.parse(text) } catch (cause) {
      throw new KtrdrError({ statusCode: 400, code: 'INVALID_JSON', retryable: false, message: `Body is not valid JSON (${(cause as Error).message}): send {"yaml": "<strategy text>"} or the YAML itself as text/yaml`, cause })
    }
    const yaml = (body as { yaml?: unknown } | null)?.yaml
    if (typeof yaml !== 'string' || !yaml.trim()) throw new KtrdrError({ statusCode: 400, code: 'INVALID_BODY', retryable: false, message: 'Send {"yaml": "<strategy text>"} or the YAML itself as text/yaml' })
    const name = (body as { name?: unknown }).name
    return { source: yaml, ...(typeof name === 'string' ? { file: name } : {}) }
  }
  if (!text.trim()) throw new KtrdrError({ statusCode: 400, code: 'INVALID_BODY', retryable: false, message: 'Empty body: send the strategy YAML (text/yaml) or {"yaml": "…"}' })
  return { source: text }
}

function strategyKey(name: string): string {
  if (!NAME_RE.test(name)) throw new KtrdrError({ statusCode: 400, code: 'STRATEGY_INVALID_NAME', retryable: false, message: `Invalid strategy name ${JSON.stringify(name)}: use letters, digits, _ - .` })
  return name.endsWith('.yaml') || name.endsWith('.yml') ? name : `${name}.yaml`
}

/** v3 grammar validation and the strategies mount. */
export default defineGatewayRoutes((router, ctx) => {
  const maxBytes = Number((ctx as { options?: { maxBodyBytes?: number } }).options?.maxBodyBytes ?? DEFAULT_MAX)

  const respond = (event: H3Event, source: string, file?: string) => {
    const result = validateStrategy(source, file ? { file } : {})
    setResponseStatus(event, result.valid ? 200 : 422)
    return { valid: result.valid, errors: result.errors, warnings: result.warnings, resolved_features: result.resolved_features }
  }

  router.post('/api/v1/strategies/validate', defineEventHandler(async (event) => {
    const { source, file } = await readStrategySource(event, maxBytes)
    return respond(event, source, file)
  }))

  // Raw bytes: getItem would JSON-parse a YAML file that happens to be valid JSON.
  async function readYaml(key: string): Promise<string | undefined> {
    const raw = await ctx.storage.strategies.getItemRaw(key)
    if (raw === null || raw === undefined) return undefined
    return typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8')
  }

  async function load(name: string): Promise<string> {
    const key = strategyKey(name)
    const text = await readYaml(key)
    if (text === undefined) throw new KtrdrError({ statusCode: 404, code: 'STRATEGY_NOT_FOUND', retryable: false, message: `No strategy "${name}" in the strategies mount: upload ${key} first` })
    return text
  }

  // Upload (create or replace): validated first, so the mount only ever holds strategies that parse.
  router.put('/api/v1/strategies/:name', defineEventHandler(async (event) => {
    const name = getRouterParam(event, 'name') ?? ''
    const key = strategyKey(name)
    const { source } = await readStrategySource(event, maxBytes)
    const result = validateStrategy(source, { file: key })
    if (!result.valid) {
      throw new KtrdrError({ statusCode: 422, code: 'STRATEGY_INVALID', retryable: false, message: `Strategy ${key} is invalid; nothing was stored: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, details: { errors: result.errors, warnings: result.warnings } })
    }
    const existed = (await readYaml(key)) !== undefined
    await ctx.storage.strategies.setItemRaw(key, Buffer.from(source, 'utf8'))
    setResponseStatus(event, existed ? 200 : 201)
    return { success: true, name: key.replace(/\.ya?ml$/, ''), file: key, created: !existed, strategy_name: result.strategy?.name ?? null, resolved_features: result.resolved_features, warnings: result.warnings }
  }))

  router.post('/api/v1/strategies/validate/:name', defineEventHandler(async (event) => {
    const name = getRouterParam(event, 'name') ?? ''
    return respond(event, await load(name), strategyKey(name))
  }))

  router.get('/api/v1/strategies', defineEventHandler(async () => {
    const keys = (await ctx.storage.strategies.getKeys()).filter((k) => /\.ya?ml$/.test(k) && !k.includes(':'))
    const data = []
    for (const key of keys.sort()) {
      const result = validateStrategy((await readYaml(key)) ?? '', { file: key })
      data.push({ name: key.replace(/\.ya?ml$/, ''), file: key, valid: result.valid, strategy_name: result.strategy?.name ?? null, features: result.resolved_features.length, errors: result.errors.length })
    }
    return { success: true, data }
  }))

  router.get('/api/v1/strategies/:name', defineEventHandler(async (event) => {
    const name = getRouterParam(event, 'name') ?? ''
    const result = validateStrategy(await load(name), { file: strategyKey(name) })
    return { success: true, data: { name, valid: result.valid, errors: result.errors, warnings: result.warnings, strategy: result.strategy ?? null } }
  }))

  router.get('/api/v1/strategies/:name/features', defineEventHandler(async (event) => {
    const name = getRouterParam(event, 'name') ?? ''
    const result = validateStrategy(await load(name), { file: strategyKey(name) })
    if (!result.valid) throw new KtrdrError({ statusCode: 422, code: 'STRATEGY_INVALID', retryable: false, message: `Strategy ${name} is invalid`, details: { errors: result.errors } })
    return { success: true, data: { name, resolved_features: result.resolved_features, count: result.resolved_features.length } }
  }))
})
