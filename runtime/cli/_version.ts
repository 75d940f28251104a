import { readFileSync } from 'node:fs'

/**
 * The ktrdr package's version, read from its package.json when asked (`--version`, `--help`):
 * a few hundred bytes of JSON instead of anything the commands import. The compiled CLI keeps
 * each module's source URL (scripts/build-cli.mjs), so the path resolves there too.
 */
export function ktrdrVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return typeof pkg.version === 'string' ? pkg.version : 'unknown'
}
