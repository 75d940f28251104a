import { STRATEGY_LIMITS } from './limits.ts'
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
import type { ChoiceOption, FlagOption, NumberOption } from './grammar.ts'
import type { StrategyIssue } from './types.ts'

export type Path = (string | number)[]
export type Obj = Record<string, unknown>

/** Collects issues with source lines; every section validator writes through one of these. */
export class Checker {
  readonly errors: StrategyIssue[] = []
  readonly warnings: StrategyIssue[] = []
  readonly notes: StrategyIssue[] = []
  constructor(
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter | undefined,
    readonly file?: string,
  ) {}

  error(path: Path, message: string): void {
    this.errors.push(this.issue(path, message))
  }

  warn(path: Path, message: string): void {
    this.warnings.push(this.issue(path, message))
  }

  /** Worth knowing, nothing to fix: a legacy key with no effect, as in KTRDR (docs/decisions.md#strategy-notes). */
  note(path: Path, message: string): void {
    this.notes.push(this.issue(path, message))
  }

  private issue(path: Path, message: string): StrategyIssue {
    const out: StrategyIssue = { path: formatPath(path), message }
    const line = this.lineOf(path)
    if (line !== undefined) out.line = line
    if (this.file) out.file = this.file
    return out
  }

  /** Line of the deepest existing node on the path (the key's line when the value is a mapping). */
  lineOf(path: Path): number | undefined {
    if (!this.doc || !this.lines) return undefined
    let node: unknown = this.doc.contents
    let offset: number | undefined = (node as Node | null)?.range?.[0]
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg))
        if (!pair) break
        offset = (pair.key as Node | null)?.range?.[0] ?? offset
        node = pair.value
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
        node = node.items[seg]
        offset = (node as Node).range?.[0] ?? offset
      } else break
    }
    return offset === undefined ? undefined : this.lines.linePos(offset).line
  }
}

export function formatPath(path: Path): string {
  let out = ''
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg
  return out
}

export function parseYamlSource(text: string): {
  doc: Document
  lines: LineCounter
  value: unknown
  yamlErrors: { message: string; line?: number }[]
} {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const yamlErrors: { message: string; line?: number }[] = doc.errors.map((e) => ({
    message: e.message.split('\n')[0],
    line: e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line,
  }))
  let value: unknown
  if (!yamlErrors.length) {
    const key = firstCollectionKey(doc.contents)
    if (key)
      yamlErrors.push({
        message: `a mapping key is ${key.kind}: keys must be plain names`,
        ...(key.offset !== undefined ? { line: lines.linePos(key.offset).line } : {}),
      })
  }
  if (!yamlErrors.length) {
    try {
      value = doc.toJS({ maxAliasCount: STRATEGY_LIMITS.maxAliases })
    } catch (error) {
      // The yaml library refuses alias bombs ("Excessive alias count…") while converting.
      yamlErrors.push({ message: `${(error as Error).message} (at most ${STRATEGY_LIMITS.maxAliases} alias expansions)` })
    }
  }
  return { doc, lines, value, yamlErrors }
}

/**
 * The first mapping key that is a collection or an alias, if any. Converting such a key to JS
 * stringifies it, and nested ones are stringified again at every level: the cost doubles per
 * level (26 levels of `{{{…}}}: 1` took 1.7 s and 94 MB, 30 levels ran out of string length).
 * No strategy needs one. Iterative; the nesting cap bounds the walk anyway.
 */
function firstCollectionKey(root: unknown): { kind: string; offset?: number } | undefined {
  const stack: unknown[] = [root]
  while (stack.length) {
    const node = stack.pop()
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items as unknown[]) stack.push(item)
    } else if (isPair(node)) {
      const key = node.key
      if (key !== null && key !== undefined && !isScalar(key)) {
        const kind = isAlias(key) ? 'an alias' : isSeq(key) ? 'a list' : isMap(key) ? 'a mapping' : 'not a scalar'
        return { kind, offset: (key as Node).range?.[0] }
      }
      stack.push(node.value)
    }
  }
  return undefined
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return `${typeof v} ${JSON.stringify(v)}`
}

/** Typed readers: report a precise error and return the fallback when the value is wrong. */
export class Reader {
  constructor(readonly c: Checker) {}

  str(
    obj: Obj,
    key: string,
    path: Path,
    opts: { required?: boolean; fallback?: string; values?: readonly string[] } = {},
  ): string | undefined {
    const v = obj[key]
    if (v === undefined || v === null) {
      if (opts.required)
        this.c.error([...path, key], `is required (expected a string${opts.values ? `: one of ${opts.values.join(', ')}` : ''})`)
      return opts.fallback
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      this.c.error([...path, key], `expected a string, got ${describe(v)}`)
      return opts.fallback
    }
    const s = String(v)
    if (opts.values && !opts.values.includes(s)) {
      this.c.error([...path, key], `expected one of ${opts.values.join(', ')}, got ${JSON.stringify(s)}`)
      return opts.fallback
    }
    return s
  }

  num(
    obj: Obj,
    key: string,
    path: Path,
    opts: {
      fallback: number
      int?: boolean
      min?: number
      max?: number
      exclusiveMin?: boolean
      exclusiveMax?: boolean
      required?: boolean
    },
  ): number {
    const v = obj[key]
    if (v === undefined || v === null) {
      if (opts.required) this.c.error([...path, key], `is required (expected ${opts.int ? 'an integer' : 'a number'})`)
      return opts.fallback
    }
    const expect = `${opts.int ? 'an integer' : 'a number'}${rangeText(opts)}`
    if (typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v))) {
      this.c.error([...path, key], `expected ${expect}, got ${describe(v)}`)
      return opts.fallback
    }
    if (
      (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) ||
      (opts.max !== undefined && (opts.exclusiveMax ? v >= opts.max : v > opts.max))
    ) {
      this.c.error([...path, key], `expected ${expect}, got ${v}`)
      return opts.fallback
    }
    return v
  }

  bool(obj: Obj, key: string, path: Path, fallback: boolean): boolean {
    const v = obj[key]
    if (v === undefined || v === null) return fallback
    if (typeof v !== 'boolean') {
      this.c.error([...path, key], `expected true or false, got ${describe(v)}`)
      return fallback
    }
    return v
  }

  /** Reads one option of a grammar table (trading/strategy/grammar.ts): its default, range or values. */
  option(obj: Obj, key: string, path: Path, spec: NumberOption): number
  option(obj: Obj, key: string, path: Path, spec: ChoiceOption): string
  option(obj: Obj, key: string, path: Path, spec: FlagOption): boolean
  option(obj: Obj, key: string, path: Path, spec: NumberOption | ChoiceOption | FlagOption): number | string | boolean {
    switch (spec.kind) {
      case 'bool':
        return this.bool(obj, key, path, spec.default)
      case 'choice':
        return this.str(obj, key, path, { fallback: spec.default, values: spec.values }) ?? spec.default
      default: {
        const { kind, default: fallback, doc: _doc, ...range } = spec
        return this.num(obj, key, path, { fallback, int: kind === 'int', ...range })
      }
    }
  }

  obj(obj: Obj, key: string, path: Path, required = false): Obj | undefined {
    const v = obj[key]
    if (v === undefined || v === null) {
      if (required) this.c.error([...path, key], 'is required (expected a mapping)')
      return undefined
    }
    if (!isObj(v)) {
      this.c.error([...path, key], `expected a mapping, got ${describe(v)}`)
      return undefined
    }
    return v
  }
}

function rangeText(o: { min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean }): string {
  if (o.min === undefined && o.max === undefined) return ''
  if (o.max === undefined) return o.exclusiveMin ? ` > ${o.min}` : ` ≥ ${o.min}`
  if (o.min === undefined) return o.exclusiveMax ? ` < ${o.max}` : ` ≤ ${o.max}`
  return ` in ${o.exclusiveMin ? '(' : '['}${o.min}, ${o.max}${o.exclusiveMax ? ')' : ']'}`
}
