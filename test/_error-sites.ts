// Finds every place the source tree gives an error a code, for the catalog test
// (test/error-codes.test.ts): `new KtrdrError({code})`, `super({code})` in its subclasses,
// `createKtrdrError(code, …)`, `errorInfo(code, …)` and `toErrorInfo(error, fallback)`. A code
// passed through a variable counts when the variable's declaration spells out its values (a
// literal-typed parameter, a default, a const table); anything else is reported.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import ts from 'typescript'

export interface ErrorSite {
  file: string
  line: number
  codes: string[]
}

export interface ErrorSiteScan {
  sites: ErrorSite[]
  /** What breaks a rule of the catalog, one line each (file:line: what). */
  problems: string[]
  /** Per file, the modules it imports (paths relative to the root). */
  imports: Map<string, string[]>
  /** Every UPPER_SNAKE string literal in the tree, with the files it appears in. */
  literals: Map<string, Set<string>>
}

const ROOTS = ['runtime', 'storage', 'trading', 'research', 'functions', 'server', 'test', 'bench', 'scripts', 'cli.ts']
const SKIP = new Set(['node_modules', '.output', '.nitro', 'dist', '.ktrdr'])
/** Where KtrdrError and the serializer are defined: they take codes as plain parameters. */
const DEFINITIONS = new Set(['runtime/protocol/errors.ts'])
/** Test files may raise made-up codes on purpose (the catalog's own tests do); their helpers may not. */
const isTestFile = (file: string) => file.endsWith('.test.ts')

export function listSourceFiles(root: string): string[] {
  const out: string[] = []
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      if (SKIP.has(entry.name)) continue
      const path = rel ? `${rel}/${entry.name}` : entry.name
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path)
    }
  }
  for (const r of ROOTS) {
    try {
      if (r.endsWith('.ts')) {
        readFileSync(join(root, r))
        out.push(r)
      } else walk(r)
    } catch {
      // a root this tree does not have
    }
  }
  return out.sort()
}

const isCodeLike = (s: string) => /^[A-Z][A-Z0-9_]{2,}$/.test(s)

export function scanErrorSites(root: string, files = listSourceFiles(root)): ErrorSiteScan {
  const sites: ErrorSite[] = []
  const problems: string[] = []
  const imports = new Map<string, string[]>()
  const literals = new Map<string, Set<string>>()

  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8')
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
    const lineOf = (node: ts.Node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1
    const where = (node: ts.Node) => `${file}:${lineOf(node)}`
    const exempt = DEFINITIONS.has(file) || isTestFile(file)
    const fileImports: string[] = []
    imports.set(file, fileImports)

    const site = (node: ts.Node, expr: ts.Expression | undefined, what: string) => {
      if (exempt) return
      const codes = expr ? codesOf(expr) : null
      if (!codes?.length) {
        problems.push(`${where(node)}: the code of ${what} must be a string literal (or a literal-typed parameter or const table)`)
        return
      }
      sites.push({ file, line: lineOf(node), codes })
    }

    /** The literal values an expression can take, or null when they cannot be read off the source. */
    const codesOf = (expr: ts.Expression): string[] | null => {
      if (ts.isStringLiteralLike(expr)) return [expr.text]
      if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || ts.isSatisfiesExpression(expr)) return codesOf(expr.expression)
      if (ts.isConditionalExpression(expr)) return both(codesOf(expr.whenTrue), codesOf(expr.whenFalse))
      if (ts.isBinaryExpression(expr) && [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken].includes(expr.operatorToken.kind))
        return both(codesOf(expr.left), codesOf(expr.right))
      if (ts.isIdentifier(expr)) return declaredValues(expr)
      if (ts.isCallExpression(expr) && ts.isIdentifier(expr.expression)) return returnedValues(expr.expression)
      if (ts.isElementAccessExpression(expr) && ts.isIdentifier(expr.expression)) {
        const table = constInitializer(expr.expression)
        if (table && ts.isObjectLiteralExpression(table)) {
          const values = table.properties.map((p) => (ts.isPropertyAssignment(p) ? codesOf(p.initializer) : null))
          return values.every(Boolean) ? values.flatMap((v) => v!) : null
        }
      }
      return null
    }
    const both = (a: string[] | null, b: string[] | null) => (a && b ? [...a, ...b] : null)

    /** A parameter of an enclosing function (its literal type and default), else a const of the file. */
    const declaredValues = (id: ts.Identifier): string[] | null => {
      for (let n: ts.Node | undefined = id.parent; n; n = n.parent) {
        if (!ts.isFunctionLike(n)) continue
        const param = n.parameters.find((p) => ts.isIdentifier(p.name) && p.name.text === id.text)
        if (!param) continue
        const values: string[] = []
        const type = param.type
        const members = type && ts.isUnionTypeNode(type) ? type.types : type ? [type] : []
        for (const t of members) {
          if (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) values.push(t.literal.text)
          else return null
        }
        if (param.initializer) {
          const init = codesOf(param.initializer)
          if (!init) return null
          values.push(...init)
        }
        return values.length ? [...new Set(values)] : null
      }
      const init = constInitializer(id)
      return init ? codesOf(init) : null
    }

    /** The initializer of the `const` an identifier names, in its block or any enclosing one. */
    const constInitializer = (id: ts.Identifier): ts.Expression | undefined => {
      for (let n: ts.Node | undefined = id.parent; n; n = n.parent) {
        if (!ts.isBlock(n) && !ts.isSourceFile(n)) continue
        for (const stmt of n.statements) {
          if (!ts.isVariableStatement(stmt) || !(stmt.declarationList.flags & ts.NodeFlags.Const)) continue
          for (const d of stmt.declarationList.declarations)
            if (ts.isIdentifier(d.name) && d.name.text === id.text && d.initializer) return unwrap(d.initializer)
        }
      }
      return undefined
    }

    /** What a function of this file returns, when every return is readable. */
    const returnedValues = (id: ts.Identifier): string[] | null => {
      const fn = sf.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === id.text)
      if (!fn?.body) return null
      const values: string[] = []
      let readable = true
      const walk = (n: ts.Node) => {
        if (ts.isFunctionLike(n)) return
        if (ts.isReturnStatement(n)) {
          const v = n.expression ? codesOf(n.expression) : null
          if (v) values.push(...v)
          else readable = false
        }
        ts.forEachChild(n, walk)
      }
      fn.body.statements.forEach(walk)
      return readable && values.length ? values : null
    }
    const unwrap = (e: ts.Expression): ts.Expression =>
      ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isParenthesizedExpression(e) ? unwrap(e.expression) : e

    /** `{code, message, …}` given to KtrdrError: the code, and no status or retryability of its own. */
    const errorInput = (node: ts.Node, args: readonly ts.Expression[], what: string) => {
      const input = args[0]
      if (!input || !ts.isObjectLiteralExpression(input)) {
        if (!exempt) problems.push(`${where(node)}: ${what} takes an object literal {code, message, …}`)
        return
      }
      const prop = (name: string) =>
        input.properties.find(
          (p): p is ts.PropertyAssignment | ts.ShorthandPropertyAssignment =>
            (ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) && p.name.getText(sf) === name,
        )
      for (const name of ['statusCode', 'retryable'])
        if (prop(name)) problems.push(`${where(node)}: ${what} sets ${name}: the catalog entry of its code decides it`)
      const code = prop('code')
      // Two arguments: an error relayed from another process (its code is whatever arrived).
      if (args.length >= 2) return
      site(node, code ? (ts.isPropertyAssignment(code) ? code.initializer : code.name) : undefined, what)
    }

    const extendsKtrdrError = (n: ts.Node) => {
      for (let p: ts.Node | undefined = n.parent; p; p = p.parent)
        if (ts.isClassLike(p)) return !!p.heritageClauses?.some((h) => h.types.some((t) => t.expression.getText(sf) === 'KtrdrError'))
      return false
    }

    const visit = (node: ts.Node) => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && node.moduleSpecifier.text.startsWith('.'))
        fileImports.push(normalize(join(dirname(file), node.moduleSpecifier.text)).replace(/\\/g, '/'))
      if (ts.isStringLiteralLike(node) && isCodeLike(node.text)) {
        if (!literals.has(node.text)) literals.set(node.text, new Set())
        literals.get(node.text)!.add(file)
      }
      if (ts.isNewExpression(node) && node.expression.getText(sf) === 'KtrdrError') errorInput(node, node.arguments ?? [], 'new KtrdrError')
      if (ts.isCallExpression(node)) {
        const callee = node.expression
        const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : ''
        if (callee.kind === ts.SyntaxKind.SuperKeyword && extendsKtrdrError(node))
          errorInput(node, node.arguments, 'super() of a KtrdrError')
        else if (name === 'createKtrdrError' || name === 'errorInfo') site(node, node.arguments[0], `${name}()`)
        else if (name === 'toErrorInfo' && node.arguments.length > 1) site(node, node.arguments[1], 'toErrorInfo() fallback')
      }
      if (ts.isObjectLiteralExpression(node) && !exempt) {
        const keys = new Set(node.properties.map((p) => (p.name && !ts.isComputedPropertyName(p.name) ? p.name.getText(sf) : '')))
        const parent = node.parent
        const isInput =
          (ts.isNewExpression(parent) && parent.expression.getText(sf) === 'KtrdrError') ||
          (ts.isCallExpression(parent) && parent.expression.kind === ts.SyntaxKind.SuperKeyword)
        // A schema describing an error's fields (OpenAPI) holds objects, not the values themselves.
        const codeValue = node.properties.find((p) => p.name?.getText(sf) === 'code')
        const describesFields = !!codeValue && ts.isPropertyAssignment(codeValue) && ts.isObjectLiteralExpression(codeValue.initializer)
        if (!isInput && !describesFields && keys.has('code') && keys.has('message') && keys.has('retryable'))
          problems.push(
            `${where(node)}: an error spelled out as {code, message, retryable}: build it with errorInfo(code, message, details)`,
          )
      }
      ts.forEachChild(node, visit)
    }
    visit(sf)
  }
  return { sites, problems, imports, literals }
}
