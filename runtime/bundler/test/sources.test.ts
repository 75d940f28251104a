// The hash of a function's build inputs, which deploys compare with the deployed version's.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempProjectDir, type TempProjectDir } from '../../../test/kit/index.ts'
import { hashFunctionSources } from '../index.ts'

let project: TempProjectDir
let fnDir: string

beforeAll(async () => {
  project = await tempProjectDir('sources-')
  fnDir = join(project.dir, 'hashed')
  // echo, importing a module of its own, with a README beside it.
  await mkdir(join(fnDir, 'src'), { recursive: true })
  const echo = await readFile(join(import.meta.dirname, '..', '..', '..', 'functions', 'echo', 'index.ts'), 'utf8')
  await writeFile(
    join(fnDir, 'index.ts'),
    echo
      .replace("'../../runtime/function/index.ts'", "'../../../../runtime/function/index.ts'")
      .replace("import { z } from 'zod'", "import { z } from 'zod'\nexport { GREETING } from './src/greeting.ts'"),
  )
  await writeFile(join(fnDir, 'src', 'greeting.ts'), "export const GREETING = 'hello'\n")
  await writeFile(join(fnDir, 'README.md'), '# hashed\n')
})
afterAll(async () => {
  await project?.cleanup()
})

describe('hashFunctionSources', () => {
  it('lists what the bundle is built from: the function, our modules it reaches, the bundler, the lockfile', async () => {
    const { files, sha256 } = await hashFunctionSources(fnDir)
    expect(sha256).toMatch(/^[0-9a-f]{64}$/)
    const rel = (p: string) => files.includes(p)
    const here = fnDir.slice(fnDir.indexOf('.ktrdr/'))
    expect(rel(`${here}/index.ts`)).toBe(true)
    expect(rel(`${here}/src/greeting.ts`)).toBe(true)
    expect(rel('runtime/function/executor.ts')).toBe(true)
    expect(rel('runtime/bundler/_nitro.ts')).toBe(true)
    expect(rel('package-lock.json')).toBe(true)
    // Not in the bundle: its README, and packages (the lockfile stands for them).
    expect(rel(`${here}/README.md`)).toBe(false)
    expect(files.some((f) => f.includes('node_modules'))).toBe(false)
  })

  it('changes with a module the function imports, not with its README or a test', async () => {
    const before = (await hashFunctionSources(fnDir)).sha256
    expect((await hashFunctionSources(fnDir)).sha256).toBe(before)
    await writeFile(join(fnDir, 'README.md'), '# hashed, documented\n')
    await writeFile(join(fnDir, 'test.test.ts'), '// a test is not part of the bundle\n')
    expect((await hashFunctionSources(fnDir)).sha256).toBe(before)
    await writeFile(join(fnDir, 'src', 'greeting.ts'), "export const GREETING = 'hi'\n")
    const after = (await hashFunctionSources(fnDir)).sha256
    expect(after).not.toBe(before)
    // bundle.json (traced and included packages) goes into the bundle's shape as well.
    await writeFile(join(fnDir, 'bundle.json'), '{"include": []}\n')
    expect((await hashFunctionSources(fnDir)).sha256).not.toBe(after)
  })

  it('says what does not resolve', async () => {
    await writeFile(join(fnDir, 'src', 'greeting.ts'), "export { GREETING } from './missing.ts'\n")
    await expect(hashFunctionSources(fnDir)).rejects.toThrow(/missing\.ts/)
  })
})
