import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'

/** The project root (where package.json and node_modules are). */
export const PROJECT_ROOT = join(import.meta.dirname, '..', '..')

export interface TempProjectDir {
  dir: string
  cleanup(): Promise<void>
}

/**
 * A temp folder inside the project, under `.ktrdr/tmp/` (ignored by git, eslint, prettier, tsc and
 * vitest's include): function sources written there resolve zod, the runtime and vitest from the
 * project's node_modules as `functions/` does, which they could not from the system temp dir.
 */
export async function tempProjectDir(prefix = 'test-'): Promise<TempProjectDir> {
  const base = join(PROJECT_ROOT, '.ktrdr', 'tmp')
  await mkdir(base, { recursive: true })
  const dir = await mkdtemp(join(base, prefix))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}
