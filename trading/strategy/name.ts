// One name per strategy (docs/decisions.md#one-name-per-strategy): the registered name is the file
// name without .yaml/.yml. Strategy routes, the CLI, train's model folders and the listings all use
// it; a YAML `name:` that says otherwise is rewritten on upload so the stored file agrees.
import { isMap, isScalar, parse, parseDocument, type Node } from 'yaml'
import { KtrdrError } from '../_errors.ts'
import { validateStrategy } from './parse.ts'
import type { StrategyValidation } from './types.ts'

/** 1–100 letters, digits, `_ - .`, not starting with `-` or `.`: a file name on every driver. */
export const STRATEGY_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/

/** `path/to/my_rsi.yaml` → `my_rsi`; a key or bare name is returned without its extension. */
export function strategyNameOf(file: string): string {
  return (file.split(/[\\/]/).pop() ?? file).replace(/\.ya?ml$/i, '')
}

/** The name a file name or key (no folders) registers, or 400 STRATEGY_NAME_INVALID naming what is wrong. */
export function checkStrategyName(file: string): string {
  const name = file.replace(/\.ya?ml$/i, '')
  if (!STRATEGY_NAME_RE.test(name)) {
    const shown = JSON.stringify(file.length > 60 ? `${file.slice(0, 60)}…` : file)
    throw new KtrdrError({
      code: 'STRATEGY_NAME_INVALID',
      message: `Invalid strategy name ${shown} (${file.length} characters): 1–100 letters, digits, _ - . starting with a letter, digit or _`,
    })
  }
  return name
}

export interface RegisteredSource {
  /** The YAML to store: the input with its top-level `name:` value replaced, nothing else touched. */
  source: string
  /** The YAML's own name when it differed and was rewritten. */
  renamed_from?: string
  /** 1-based line of the rewritten `name:` value. */
  line?: number
}

/**
 * Makes the YAML's top-level `name:` say `name`, editing only that value's characters so comments,
 * layout and every other key stay byte for byte. YAML that does not parse, or has no `name:`, is
 * returned as it is: validation reports it. A rewrite that would change anything but the name (an
 * anchor on it that other keys reuse) is refused: 422 STRATEGY_NAME_MISMATCH naming both names.
 */
export function registerStrategyName(source: string, name: string): RegisteredSource {
  const doc = parseDocument(source, { uniqueKeys: true })
  if (doc.errors.length || !isMap(doc.contents)) return { source }
  const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'name')
  const value = pair?.value as Node | null | undefined
  if (!pair || !isScalar(value) || !value.range) return { source }
  const current = value.value
  if (current === name) return { source }
  const scalar = parse(name) === name ? name : JSON.stringify(name)
  const [start, end] = value.range
  const rewritten = source.slice(0, start) + scalar + source.slice(end)
  const before = { ...(doc.toJS() as Record<string, unknown>), name }
  let after: unknown
  try {
    after = parse(rewritten)
  } catch {
    after = undefined
  }
  if (JSON.stringify(after) !== JSON.stringify(before))
    throw new KtrdrError({
      code: 'STRATEGY_NAME_MISMATCH',
      message: `The YAML says name: ${JSON.stringify(current)} but the strategy is stored as "${name}" (its file name), and the name cannot be rewritten in place: set name: ${name}`,
      details: { name, yaml_name: current },
    })
  return { source: rewritten, renamed_from: String(current), line: source.slice(0, start).split('\n').length }
}

/**
 * What an upload stores: the strategy validated as `name` (limits and all, before any other parse
 * of the text), then, when valid, its `name:` rewritten to `name`. The name note of the validation
 * becomes the upload's warning, so it is dropped from the notes here.
 */
export function prepareStrategyUpload(
  source: string,
  options: { name: string; file?: string },
): { validation: StrategyValidation; registered?: RegisteredSource } {
  const validation = validateStrategy(source, options)
  if (!validation.valid) return { validation }
  const registered = registerStrategyName(source, options.name)
  if (registered.renamed_from === undefined) return { validation, registered }
  return { validation: { ...validation, notes: validation.notes.filter((n) => n.path !== 'name') }, registered }
}
