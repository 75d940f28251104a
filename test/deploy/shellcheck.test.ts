// shellcheck over every project shell script, as part of the test command. CI installs Debian's
// shellcheck when missing (.ci/run); elsewhere the test says how to get it instead of failing.
import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO } from './_harness.ts'

const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0

describe('shell scripts', () => {
  const title = hasShellcheck
    ? 'are shellcheck-clean (scripts/shellcheck.sh)'
    : 'are shellcheck-clean: SKIPPED, shellcheck is not installed (apt-get install -y shellcheck)'
  it.skipIf(!hasShellcheck)(title, () => {
    const out = execFileSync('bash', [join(REPO, 'scripts/shellcheck.sh')], { encoding: 'utf8' })
    expect(out).toMatch(/shellcheck: \d+ scripts clean/)
  })

  it('every deploy script is strict and offers --help and --dry-run', async () => {
    const { readdirSync, readFileSync } = await import('node:fs')
    const dir = join(REPO, 'deploy/lxc')
    const scripts = readdirSync(dir).filter((f) => f.endsWith('.sh') && !f.startsWith('_'))
    expect(scripts.length).toBeGreaterThanOrEqual(8)
    for (const f of scripts) {
      const text = readFileSync(join(dir, f), 'utf8')
      expect(text, f).toMatch(/^#!\/usr\/bin\/env bash\n/)
      expect(text, f).toContain('set -euo pipefail')
      expect(text, f).toMatch(/-h\|--help[)|]/)
      if (f !== 'render-env.sh' && f !== 'pct-shim.sh') expect(text, f).toContain('--dry-run) DRY_RUN=1')
    }
  })
})
