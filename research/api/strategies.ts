import { createHash } from 'node:crypto'
import { defineEventHandler, getRequestHeader, getRouterParam, setResponseStatus, type H3Event } from 'h3'
import { checkStrategyName, KtrdrError, type StrategyIssue } from '../../trading/index.ts'
import { defineGatewayRoutes, pageOf, pageParams, readBodyBytes } from '../../runtime/gateway/index.ts'
import { createStrategyValidator } from './_strategy-validator.ts'
import type { validateStrategy } from '../../trading/index.ts'

const DEFAULT_MAX = 1024 * 1024

/** Body `{yaml}` (JSON) or the raw YAML itself (any other content type). */
async function readStrategySource(event: H3Event, maxBytes: number): Promise<{ source: string; file?: string }> {
  const text = (await readBodyBytes(event, maxBytes)).toString('utf8')
  const type = getRequestHeader(event, 'content-type') ?? ''
  if (type.includes('json')) {
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch (cause) {
      throw new KtrdrError({
        code: 'INVALID_JSON',
        message: `Body is not valid JSON (${(cause as Error).message}): send {"yaml": "<strategy text>"} or the YAML itself as text/yaml`,
        cause,
      })
    }
    const yaml = (body as { yaml?: unknown } | null)?.yaml
    if (typeof yaml !== 'string' || !yaml.trim())
      throw new KtrdrError({
        code: 'BAD_REQUEST',
        message: 'Send {"yaml": "<strategy text>"} or the YAML itself as text/yaml',
      })
    const name = (body as { name?: unknown }).name
    return { source: yaml, ...(typeof name === 'string' ? { file: name } : {}) }
  }
  if (!text.trim())
    throw new KtrdrError({
      code: 'BAD_REQUEST',
      message: 'Empty body: send the strategy YAML (text/yaml) or {"yaml": "…"}',
    })
  return { source: text }
}

/**
 * A strategy's one name is its file name in the strategies mount, without .yaml
 * (docs/decisions.md#one-name-per-strategy): `<name>.yaml`, or 400 naming what is wrong.
 */
function strategyKey(name: string): string {
  return `${checkStrategyName(name)}.yaml`
}

/** v3 grammar validation and the strategies mount. */
export default defineGatewayRoutes((router, ctx) => {
  const maxBytes = Number((ctx as { options?: { maxBodyBytes?: number } }).options?.maxBodyBytes ?? DEFAULT_MAX)

  const validator = createStrategyValidator(ctx.logger)
  ctx.hooks?.on('gateway:close', () => void validator.close())
  // Validated as the strategy registered under `key`: it resolves to that name.
  const validate = (source: string, key?: string) => validator.validate(source, key ? { file: key, name: key.replace(/\.ya?ml$/, '') } : {})

  const respond = async (event: H3Event, source: string, key?: string) => {
    const result = await validate(source, key)
    setResponseStatus(event, result.valid ? 200 : 422)
    return {
      valid: result.valid,
      errors: result.errors,
      warnings: result.warnings,
      notes: result.notes,
      resolved_features: result.resolved_features,
    }
  }

  router.post(
    '/api/v1/strategies/validate',
    defineEventHandler(async (event) => {
      const { source, file } = await readStrategySource(event, maxBytes)
      return await respond(event, source, file === undefined ? undefined : strategyKey(file))
    }),
  )

  // Raw bytes: getItem would JSON-parse a YAML file that happens to be valid JSON.
  async function readYaml(key: string): Promise<string | undefined> {
    const raw = await ctx.storage.strategies.getItemRaw(key)
    if (raw === null || raw === undefined) return undefined
    return typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8')
  }

  async function load(name: string): Promise<string> {
    const key = strategyKey(name)
    const text = await readYaml(key)
    if (text === undefined)
      throw new KtrdrError({
        code: 'STRATEGY_NOT_FOUND',
        message: `No strategy "${name}" in the strategies mount: upload ${key} first`,
      })
    return text
  }

  // Upload (create or replace): validated first, so the mount only ever holds strategies that parse,
  // and stored with its `name:` saying the name it is stored under.
  router.put(
    '/api/v1/strategies/:name',
    defineEventHandler(async (event) => {
      const key = strategyKey(getRouterParam(event, 'name') ?? '')
      const name = key.replace(/\.yaml$/, '')
      const { source } = await readStrategySource(event, maxBytes)
      const { validation: result, registered } = await validator.prepareUpload(source, { file: key, name })
      if (!result.valid || !registered) {
        throw new KtrdrError({
          code: 'STRATEGY_INVALID',
          message: `Strategy ${key} is invalid; nothing was stored: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
          details: { errors: result.errors, warnings: result.warnings },
        })
      }
      const renamed: StrategyIssue[] =
        registered.renamed_from === undefined
          ? []
          : [
              {
                path: 'name',
                ...(registered.line ? { line: registered.line } : {}),
                file: key,
                message: `name "${registered.renamed_from}" was rewritten to "${name}", the file name it is stored under: train, backtest and the listings know it as "${name}"`,
              },
            ]
      const existed = (await readYaml(key)) !== undefined
      await ctx.storage.strategies.setItemRaw(key, Buffer.from(registered.source, 'utf8'))
      setResponseStatus(event, existed ? 200 : 201)
      return {
        success: true,
        name,
        file: key,
        created: !existed,
        strategy_name: name,
        ...(registered.renamed_from === undefined ? {} : { renamed_from: registered.renamed_from }),
        resolved_features: result.resolved_features,
        warnings: [...renamed, ...result.warnings],
        notes: result.notes,
      }
    }),
  )

  router.post(
    '/api/v1/strategies/validate/:name',
    defineEventHandler(async (event) => {
      const name = getRouterParam(event, 'name') ?? ''
      return await respond(event, await load(name), strategyKey(name))
    }),
  )

  // Listing validates each stored file once per content: the summary is cached by its hash, so a
  // listing of N unchanged strategies costs N reads and N hashes, not N validations.
  const summaries = new Map<string, { hash: string; result: ReturnType<typeof validateStrategy> }>()
  const summarise = async (key: string, text: string) => {
    const hash = createHash('sha1').update(text).digest('hex')
    const hit = summaries.get(key)
    if (hit?.hash === hash) return hit.result
    const result = await validate(text, key)
    summaries.set(key, { hash, result })
    return result
  }

  router.get(
    '/api/v1/strategies',
    defineEventHandler(async (event) => {
      const page = pageParams(event, { limit: 1000, maxLimit: 10_000 })
      const keys = (await ctx.storage.strategies.getKeys()).filter((k) => /\.ya?ml$/.test(k) && !k.includes(':'))
      const data = []
      for (const key of keys.sort()) {
        const result = await summarise(key, (await readYaml(key)) ?? '')
        data.push({
          name: key.replace(/\.ya?ml$/, ''),
          file: key,
          valid: result.valid,
          strategy_name: result.strategy?.name ?? null,
          features: result.resolved_features.length,
          errors: result.errors.length,
        })
      }
      return { success: true, ...pageOf(data, page) }
    }),
  )

  router.get(
    '/api/v1/strategies/:name',
    defineEventHandler(async (event) => {
      const name = getRouterParam(event, 'name') ?? ''
      const result = await validate(await load(name), strategyKey(name))
      return {
        success: true,
        data: {
          name,
          valid: result.valid,
          errors: result.errors,
          warnings: result.warnings,
          notes: result.notes,
          strategy: result.strategy ?? null,
        },
      }
    }),
  )

  router.get(
    '/api/v1/strategies/:name/features',
    defineEventHandler(async (event) => {
      const name = getRouterParam(event, 'name') ?? ''
      const result = await validate(await load(name), strategyKey(name))
      if (!result.valid)
        throw new KtrdrError({
          code: 'STRATEGY_INVALID',
          message: `Strategy ${name} is invalid`,
          details: { errors: result.errors },
        })
      return { success: true, data: { name, resolved_features: result.resolved_features, count: result.resolved_features.length } }
    }),
  )
})
