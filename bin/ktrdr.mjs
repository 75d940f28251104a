#!/usr/bin/env node
// The ktrdr CLI. Runs the build `npm ci` compiled into dist/cli/ (scripts/build-cli.mjs, the
// prepare script) while it matches the sources; without one, or after a source changed (a
// developer's edit), the TypeScript sources through tsx: the same CLI, ~3 s slower to start.
// KTRDR_CLI_SOURCES=1 always takes the sources.
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { compiledCli } from './_dist.mjs'

const compiled =
  process.env.KTRDR_CLI_SOURCES === '1'
    ? { reason: 'KTRDR_CLI_SOURCES=1' }
    : compiledCli(join(dirname(fileURLToPath(import.meta.url)), '..'))
if ('entry' in compiled) {
  await import(pathToFileURL(compiled.entry).href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../cli.ts')
}
