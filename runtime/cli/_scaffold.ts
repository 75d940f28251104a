// `ktrdr fn new`: a function folder that builds and passes its test as generated.
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FUNCTION_NAME_RE, KtrdrError } from '../protocol/index.ts'
import { FUNCTION_TEMPLATES, renderTemplate, type FunctionTemplate } from './_templates.ts'

/** The project root: functions' imports (zod, the runtime) resolve from its node_modules and tree. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const FUNCTIONS_ROOT = join(PROJECT_ROOT, 'functions')

export interface ScaffoldFunctionOptions {
  /** echo (default), job or stream. */
  template?: string
  /** The folder the function's folder goes into (default functions/); it must be inside the project. */
  dir?: string
}

export interface ScaffoldedFunction {
  name: string
  template: FunctionTemplate
  dir: string
  files: string[]
}

/** An import specifier from `fromDir` to a file of the project, always `./…` or `../…` with slashes. */
function importPath(fromDir: string, file: string): string {
  const path = relative(fromDir, file).split(sep).join('/')
  return path.startsWith('.') ? path : `./${path}`
}

/** Writes `<dir>/<name>/{index.ts, test/<name>.test.ts, README.md}`; never over an existing folder. */
export async function scaffoldFunction(name: string, options: ScaffoldFunctionOptions = {}): Promise<ScaffoldedFunction> {
  if (!FUNCTION_NAME_RE.test(name))
    throw new KtrdrError({
      code: 'FUNCTION_NAME_INVALID',
      message: `"${name}" is not a function name: lowercase letters, digits and dashes, starting with a letter`,
    })
  const template = (options.template ?? 'echo') as FunctionTemplate
  if (!FUNCTION_TEMPLATES.includes(template))
    throw new KtrdrError({
      code: 'BAD_REQUEST',
      message: `--template must be one of ${FUNCTION_TEMPLATES.join(', ')}, got "${template}"`,
    })
  const parent = resolve(options.dir ?? FUNCTIONS_ROOT)
  const fnDir = join(parent, name)
  const inside = relative(PROJECT_ROOT, fnDir)
  if (inside.startsWith('..') || resolve(PROJECT_ROOT, inside) !== fnDir)
    throw new KtrdrError({
      code: 'FUNCTION_SOURCE_OUTSIDE_PROJECT',
      message: `${fnDir} is outside the project at ${PROJECT_ROOT}: a function's imports (zod, the runtime, the test runner) resolve from the project's node_modules`,
    })
  const runtimeEntry = join(PROJECT_ROOT, 'runtime', 'function', 'index.ts')
  const files = renderTemplate(template, {
    name,
    runtime: importPath(fnDir, runtimeEntry),
    testRuntime: importPath(join(fnDir, 'test'), runtimeEntry),
  })
  // Commands run from the project root; a folder under functions/ is deployed by its name.
  const where = relative(PROJECT_ROOT, fnDir).split(sep).join('/')
  const target = parent === FUNCTIONS_ROOT ? name : where
  const readme = `# ${name}\n\n${files.description} (\`ktrdr fn new --template ${template}\`): test with \`npx vitest run ${where}\`, deploy with \`npx ktrdr fn deploy ${target}\`.\n`
  const written: Array<[string, string]> = [
    [join(fnDir, 'index.ts'), files.index],
    [join(fnDir, 'test', `${name}.test.ts`), files.test],
    [join(fnDir, 'README.md'), readme],
  ]
  // The folder itself is created exclusively: two `fn new` of one name never write into each other.
  await mkdir(parent, { recursive: true })
  await mkdir(fnDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST')
      throw new KtrdrError({ code: 'FUNCTION_SOURCE_EXISTS', message: `${fnDir} already exists: pick another name or remove it first` })
    throw error
  })
  await mkdir(join(fnDir, 'test'))
  for (const [path, text] of written) await writeFile(path, text, { flag: 'wx' })
  return { name, template, dir: fnDir, files: written.map(([p]) => p) }
}
