// The Nitro build of the gateway applies the same bind rule as `ktrdr gateway`: no listening on a
// non-loopback address without both tokens (its plugin used to resolve options with insecure: true).
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const entry = join(root, '.output', 'server', 'index.mjs')

function run(env: Record<string, string>): Promise<{ code: number | null; output: string; port?: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry], {
      env: { PATH: process.env.PATH!, KTRDR_HOME: mkdtempSync(join(tmpdir(), 'ktrdr-nitro-')), ...env },
    })
    let output = ''
    child.stdout.on('data', (d) => {
      output += d
    })
    child.stderr.on('data', (d) => {
      output += d
    })
    child.once('exit', (code) => resolve({ code, output }))
    if (env.PORT) {
      // Serving: ask /health once it listens, then stop it.
      const poll = async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${env.PORT}/health`)
          output += `\nHEALTH ${res.status}`
          // The dashboard the build copied to .output/ui, served by the same plugin.
          for (const path of ['/ui/', '/ui/js/app.js', '/ui/vendor/lightweight-charts.mjs'])
            output += `\nUI ${path} ${(await fetch(`http://127.0.0.1:${env.PORT}${path}`)).status}`
          child.kill('SIGTERM')
        } catch {
          if (child.exitCode === null) setTimeout(poll, 100)
        }
      }
      void poll()
    }
  })
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

describe('Nitro gateway build', () => {
  beforeAll(() => {
    const build = spawnSync('npx', ['nitropack', 'build'], { cwd: root, encoding: 'utf8' })
    expect(build.status, build.stderr + build.stdout).toBe(0)
  }, 180_000)

  it('refuses a non-loopback bind without tokens, with the reason, and exits non-zero', async () => {
    const { code, output } = await run({ HOST: '0.0.0.0', PORT: '0' })
    expect(code).toBe(1)
    expect(output).toMatch(/Refusing to listen on 0\.0\.0\.0 without KTRDR_API_TOKEN and KTRDR_CLUSTER_TOKEN/)
  })

  it('serves on loopback without tokens', async () => {
    const port = await freePort()
    const { output } = await run({ HOST: '127.0.0.1', PORT: String(port) })
    expect(output).toContain('HEALTH 200')
    for (const path of ['/ui/', '/ui/js/app.js', '/ui/vendor/lightweight-charts.mjs']) expect(output).toContain(`UI ${path} 200`)
  })
})
