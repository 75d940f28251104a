// Which CLI build bin/ktrdr.mjs may run: dist/cli/manifest.json (scripts/build-cli.mjs) lists every
// source the build was compiled from with its size, mtime and sha256. A size that differs, or a
// changed mtime whose content hash differs too, means a source changed since the build: the
// caller runs the sources instead. One stat per source (~300, ~7 ms cold) and a JSON parse (~1 ms); a hash only for files whose mtime moved.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

// node:crypto only when an mtime moved: loading it is a few ms of every start otherwise.
const require = createRequire(import.meta.url)

/** The compiled CLI entry under `root`, or why there is none to run. */
export function compiledCli(root) {
  const base = join(root, 'dist', 'cli')
  let manifest
  try {
    manifest = JSON.parse(readFileSync(join(base, 'manifest.json'), 'utf8'))
  } catch {
    return { reason: 'dist/cli/manifest.json is missing or unreadable' }
  }
  if (manifest?.version !== 1 || typeof manifest.entry !== 'string' || !manifest.inputs)
    return { reason: 'dist/cli/manifest.json has an unknown format' }
  // The build holds its sources' absolute URLs (import.meta.url): a moved checkout needs a new one.
  if (manifest.root !== root) return { reason: `the build is of ${manifest.root}` }
  for (const [path, recorded] of Object.entries(manifest.inputs)) {
    let stat
    try {
      stat = statSync(join(root, path))
    } catch {
      return { reason: `${path} is gone since the build` }
    }
    if (stat.size !== recorded.size) return { reason: `${path} changed since the build` }
    if (stat.mtimeMs === recorded.mtimeMs) continue
    const sha256 = require('node:crypto')
      .createHash('sha256')
      .update(readFileSync(join(root, path)))
      .digest('hex')
    if (sha256 !== recorded.sha256) return { reason: `${path} changed since the build` }
  }
  const entry = join(base, manifest.entry)
  return existsSync(entry) ? { entry } : { reason: `${manifest.entry} is missing from dist/cli/` }
}
