import { Ajv2020, type ValidateFunction, type ErrorObject } from 'ajv/dist/2020.js'
import addFormatsImport from 'ajv-formats'
import { didYouMean, KtrdrError } from '../protocol/index.ts'

const addFormats = addFormatsImport as unknown as (ajv: Ajv2020) => Ajv2020

/**
 * Where an ajv error points, as `input.a.b[2]`, naming the missing/extra key when there is one. An
 * unknown key gets the known key it most likely meant (`input.epoch` → "did you mean \"epochs\"?"):
 * a typo must not pass for a default, so objects of our functions' schemas refuse unknown keys.
 */
export function describeAjvError(error: ErrorObject, root = 'input'): { field: string; message: string; suggestion?: string } {
  let field = root + error.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.')
  const params = error.params as Record<string, unknown>
  if (typeof params.missingProperty === 'string') field += `.${params.missingProperty}`
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    const key = params.additionalProperty
    field += `.${key}`
    const known = Object.keys((error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {})
    const suggestion = didYouMean(key, known)
    const hint = suggestion ? `did you mean "${suggestion}"?` : known.length ? `known: ${known.join(', ')}` : 'no keys are accepted here'
    return { field, message: `${field} is not a known field (${hint})`, ...(suggestion ? { suggestion } : {}) }
  }
  const choice = error.keyword === 'oneOf' || error.keyword === 'anyOf' ? requiredAlternatives(error.schema) : undefined
  if (choice) return { field, message: `${field} needs ${error.keyword === 'oneOf' ? 'exactly' : 'at least'} one of ${choice.join(', ')}` }
  const extra = error.keyword === 'enum' ? `: one of ${JSON.stringify(params.allowedValues)}` : ''
  return { field, message: `${field} ${error.message ?? 'is invalid'}${extra}` }
}

/** `oneOf|anyOf: [{required: [a]}, {required: [b]}]` (how a schema says "exactly/at least one of a, b") → [a, b]. */
function requiredAlternatives(schema: unknown): string[] | undefined {
  if (!Array.isArray(schema)) return undefined
  const names: string[] = []
  for (const branch of schema as Array<{ required?: unknown }>) {
    if (!branch || !Array.isArray(branch.required) || branch.required.length !== 1 || Object.keys(branch).length !== 1) return undefined
    names.push(String(branch.required[0]))
  }
  return names
}

/** ajv reports a failed "one of" once per branch too; the oneOf/anyOf line says it all. */
function withoutBranchErrors(errors: ErrorObject[]): ErrorObject[] {
  const choices = errors
    .filter((e) => (e.keyword === 'oneOf' || e.keyword === 'anyOf') && requiredAlternatives(e.schema))
    .map((e) => `${e.schemaPath}/`)
  if (!choices.length) return errors
  return errors.filter((e) => !choices.some((prefix) => e.schemaPath.startsWith(prefix)))
}

export interface InputValidator {
  /** Throws 422 INPUT_INVALID when `input` breaks the version's schema; `key` is the bundle sha256. */
  (key: string, schema: Record<string, unknown> | undefined, input: unknown, fnName: string): void
  /**
   * Compiles ahead of the first invocation (at publish and at gateway start): ajv spends 10–150 ms
   * on a schema the first time. A schema that does not compile is left for the invocation to report.
   */
  warm(key: string, schema: Record<string, unknown> | undefined, fnName: string): void
  /** Compilations so far (tests assert an invocation after a deploy adds none). */
  readonly stats: { compiles: number }
}

/** Validators compiled once per bundle sha256 (manifests are immutable). */
export function createInputValidator(): InputValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true, verbose: true })
  addFormats(ajv)
  const cache = new Map<string, ValidateFunction>()
  const stats = { compiles: 0 }

  function compiled(key: string, schema: Record<string, unknown>, fnName: string): ValidateFunction {
    let validate = cache.get(key)
    if (!validate) {
      const { $schema: _ignored, ...rest } = schema
      stats.compiles++
      try {
        validate = ajv.compile(rest)
      } catch (cause) {
        throw new KtrdrError({
          code: 'MANIFEST_SCHEMA_INVALID',
          message: `Function ${fnName} has an input schema that does not compile: rebuild and redeploy it`,
          cause,
        })
      }
      cache.set(key, validate)
    }
    return validate
  }

  function validateInput(key: string, schema: Record<string, unknown> | undefined, input: unknown, fnName: string): void {
    if (!schema || Object.keys(schema).length === 0) return
    const validate = compiled(key, schema, fnName)
    if (validate(input)) return
    const errors = withoutBranchErrors(validate.errors ?? []).map((e) => describeAjvError(e))
    throw new KtrdrError({
      code: 'INPUT_INVALID',
      message: `Invalid input for ${fnName}: ${errors
        .slice(0, 5)
        .map((e) => e.message)
        .join('; ')}`,
      details: { errors: errors.slice(0, 20) },
    })
  }

  return Object.assign(validateInput, {
    warm(key: string, schema: Record<string, unknown> | undefined, fnName: string) {
      if (!schema || Object.keys(schema).length === 0 || cache.has(key)) return
      try {
        compiled(key, schema, fnName)
      } catch {
        /* reported by the invocation that needs it */
      }
    },
    stats,
  })
}
