// `ktrdr fn describe`: what the gateway knows of a function, for a person (fields of the input,
// placement, versions and aliases) or as JSON.
import type { FunctionAlias, FunctionManifest, FunctionVersion } from '../protocol/index.ts'
import { table } from './_api.ts'

export interface FunctionRecord {
  name: string
  versions: Array<FunctionVersion & { warm_hosts?: string[] }>
  aliases: FunctionAlias[]
}

export interface FunctionDescriptionView {
  name: string
  /** The version described: the one `name@…` named, else latest. */
  version: number
  description: string
  operation_type: string
  input_schema: Record<string, unknown>
  placement: FunctionManifest['placement']
  timeout_seconds: number
  max_attempts: number
  /** Invocations one executor runs at once (1: each its own process). */
  concurrency: number
  storage: FunctionManifest['storage'] | null
  env: string[]
  source_sha256: string | null
  versions: Array<{
    version: number
    sha256: string
    size: number
    created_at: string
    source_commit: string | null
    source_sha256: string | null
    aliases: string[]
    warm_hosts: string[]
  }>
  aliases: FunctionAlias[]
}

/** `echo`, `echo@3` or `echo@stable` → the name and the version asked for (a split alias: its heaviest route). */
export function pickVersion(fn: FunctionRecord, key = 'latest'): FunctionVersion {
  const asNumber = /^\d+$/.test(key) ? Number(key) : null
  let version: number | undefined
  if (asNumber === null) {
    const alias = fn.aliases.find((a) => a.alias === key)
    if (!alias) throw new Error(`${fn.name} has no alias "${key}" (aliases: ${fn.aliases.map((a) => a.alias).join(', ') || 'none'})`)
    version = [...alias.routes].sort((a, b) => b.weight - a.weight)[0]?.version
  } else version = asNumber
  const found = fn.versions.find((v) => v.version === version)
  if (!found) throw new Error(`${fn.name} has no version ${version} (versions: ${fn.versions.map((v) => v.version).join(', ') || 'none'})`)
  return found
}

export function describeView(fn: FunctionRecord, ref?: string): FunctionDescriptionView {
  const picked = pickVersion(fn, ref)
  const m = picked.manifest
  return {
    name: fn.name,
    version: picked.version,
    description: m.description,
    operation_type: m.operation_type,
    input_schema: m.input_schema,
    placement: m.placement,
    timeout_seconds: m.timeout_seconds,
    max_attempts: m.max_attempts,
    concurrency: m.concurrency ?? 1,
    storage: m.storage ?? null,
    env: m.env ?? [],
    source_sha256: m.source_sha256 ?? null,
    versions: fn.versions.map((v) => ({
      version: v.version,
      sha256: v.sha256,
      size: v.size,
      created_at: v.created_at,
      source_commit: v.source_commit,
      source_sha256: v.manifest.source_sha256 ?? null,
      aliases: fn.aliases.filter((a) => a.routes.some((r) => r.version === v.version)).map((a) => a.alias),
      warm_hosts: v.warm_hosts ?? [],
    })),
    aliases: fn.aliases,
  }
}

type Schema = Record<string, unknown>

/** A JSON Schema type in a few characters: string, integer, "a"|"b", array<number>, object, … */
function typeOf(schema: Schema): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join('|')
  if ('const' in schema) return JSON.stringify(schema.const)
  for (const key of ['anyOf', 'oneOf'] as const) if (Array.isArray(schema[key])) return (schema[key] as Schema[]).map(typeOf).join(' | ')
  const type = Array.isArray(schema.type) ? schema.type.join('|') : ((schema.type as string | undefined) ?? 'any')
  if (type === 'array' && schema.items && typeof schema.items === 'object') return `array<${typeOf(schema.items as Schema)}>`
  return type
}

const BOUNDS: Array<[string, string]> = [
  ['minimum', '≥'],
  ['exclusiveMinimum', '>'],
  ['maximum', '≤'],
  ['exclusiveMaximum', '<'],
  ['minLength', 'length ≥'],
  ['maxLength', 'length ≤'],
  ['minItems', 'items ≥'],
  ['maxItems', 'items ≤'],
  ['pattern', 'matches'],
  ['format', 'format'],
]

function notesOf(schema: Schema): string {
  const notes = BOUNDS.filter(([k]) => schema[k] !== undefined).map(([k, label]) => `${label} ${schema[k]}`)
  if (typeof schema.description === 'string') notes.push(schema.description)
  return notes.join(', ')
}

/** One row per input field (nested object fields as `a.b`). */
export function inputRows(schema: Schema, prefix = '', required: string[] = (schema.required as string[] | undefined) ?? []) {
  const rows: Array<Record<string, unknown>> = []
  const props = (schema.properties ?? {}) as Record<string, Schema>
  for (const [key, prop] of Object.entries(props)) {
    const field = `${prefix}${key}`
    rows.push({
      field,
      type: typeOf(prop),
      required: required.includes(key) ? 'yes' : 'no',
      default: prop.default === undefined ? undefined : JSON.stringify(prop.default),
      notes: notesOf(prop),
    })
    if (prop.type === 'object' && prop.properties) rows.push(...inputRows(prop, `${field}.`))
  }
  return rows
}

function placementText(p: FunctionManifest['placement']): string {
  const parts: string[] = []
  if (p.worker_types?.length) parts.push(`worker types ${p.worker_types.join(', ')}`)
  const req = p.requires ?? {}
  const needs = [
    req.gpu && 'gpu',
    req.ib && 'ib',
    req.llm && 'llm',
    req.min_memory_gb && `≥ ${req.min_memory_gb} GB memory`,
    ...(req.labels ?? []),
  ]
  if (needs.some(Boolean)) parts.push(`requires ${needs.filter(Boolean).join(', ')}`)
  if (p.prefers?.gpu) parts.push('prefers gpu')
  return parts.join('; ') || 'any host'
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`

export function formatDescription(v: FunctionDescriptionView): string {
  const storage = Object.entries(v.storage ?? {})
    .map(([mount, s]) => `${mount} ${s!.access}${s!.prefixes.length ? ` (${s!.prefixes.join(', ')})` : ''}`)
    .join('; ')
  const rows = inputRows(v.input_schema)
  return [
    `${v.name}@${v.version}  ${v.description}`,
    `  operation type  ${v.operation_type}`,
    `  placement       ${placementText(v.placement)}`,
    `  limits          timeout ${v.timeout_seconds} s, up to ${v.max_attempts} attempt${v.max_attempts === 1 ? '' : 's'}${v.concurrency > 1 ? `, up to ${v.concurrency} invocations per executor` : ''}`,
    `  storage         ${storage || 'none'}`,
    `  env             ${v.env.join(', ') || 'none'}`,
    `  aliases         ${v.aliases.map((a) => `${a.alias}→${a.routes.map((r) => (a.routes.length > 1 ? `${r.version}(${r.weight})` : r.version)).join('+')}`).join('  ')}`,
    '',
    'Input',
    rows.length
      ? table(rows, ['field', 'type', 'required', 'default', 'notes'])
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n')
      : `  ${JSON.stringify(v.input_schema)}`,
    '',
    'Versions',
    table(
      v.versions.map((x) => ({
        version: x.version,
        sha256: x.sha256.slice(0, 12),
        sources: x.source_sha256?.slice(0, 12),
        size: kb(x.size),
        created: x.created_at,
        aliases: x.aliases.join(','),
        warm: x.warm_hosts.length,
      })),
      ['version', 'sha256', 'sources', 'size', 'created', 'aliases', 'warm'],
    )
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  ].join('\n')
}
