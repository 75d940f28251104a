// The Nitro build of the gateway applies the same bind rule as `ktrdr gateway`: no listening on a
// non-loopback address without both tokens (its plugin used to resolve options with insecure: true).
// With KTRDR_DATABASE_URL it is one gateway of an active/standby pair, as `ktrdr gateway` is.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresSkipReason, startTestPostgres } from '../kit/index.ts'

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
          // The dashboard the build copied to .output/ui, served by the same plugin, and the API
          // reference page's files it copied beside the server.
          for (const path of [
            '/ui/',
            '/ui/js/app.js',
            '/ui/vendor/lightweight-charts.mjs',
            '/docs',
            '/docs/swagger-ui.css',
            '/docs/swagger-ui-bundle.js',
          ])
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
    for (const path of [
      '/ui/',
      '/ui/js/app.js',
      '/ui/vendor/lightweight-charts.mjs',
      '/docs',
      '/docs/swagger-ui.css',
      '/docs/swagger-ui-bundle.js',
    ])
      expect(output).toContain(`UI ${path} 200`)
  })
})

const pg = await startTestPostgres()
afterAll(async () => {
  await pg?.stop()
})

describe.skipIf(!pg)(`Nitro gateway build on PostgreSQL${pg ? '' : ` (${postgresSkipReason()})`}`, () => {
  const children: ChildProcess[] = []
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  })
  const serve = (port: number, env: Record<string, string>) => {
    const child = spawn(process.execPath, [entry], {
      env: {
        PATH: process.env.PATH!,
        KTRDR_HOME: mkdtempSync(join(tmpdir(), 'ktrdr-nitro-pg-')),
        HOST: '127.0.0.1',
        PORT: String(port),
        ...env,
      },
      stdio: 'ignore',
    })
    children.push(child)
    return child
  }
  const health = async (port: number) => {
    try {
      return (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { role: string; active?: { url: string } }
    } catch {
      return null
    }
  }
  const until = async <T>(check: () => Promise<T | null | false>, what: string, ms = 20_000): Promise<T> => {
    const deadline = Date.now() + ms
    for (;;) {
      const value = await check()
      if (value) return value
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  it('serves as one gateway of a pair: active, standby naming it, and the standby takes over when the active is killed', async () => {
    const env = { KTRDR_DATABASE_URL: await pg!.createDatabase(), KTRDR_SECRETS_KEY: 'ef'.repeat(32) }
    const [portA, portB] = [await freePort(), await freePort()]
    const a = serve(portA, env)
    await until(async () => (await health(portA))?.role === 'active', 'the first Nitro gateway to be active')
    serve(portB, env)
    const standby = await until(async () => {
      const h = await health(portB)
      return h?.role === 'standby' ? h : null
    }, 'the second Nitro gateway to be the standby')
    expect(standby.active?.url).toBe(`http://127.0.0.1:${portA}`)
    expect((await fetch(`http://127.0.0.1:${portB}/api/v1/operations`)).status).toBe(503)
    a.kill('SIGKILL')
    const t0 = Date.now()
    await until(async () => (await health(portB))?.role === 'active', 'the standby to take over', 10_000)
    const tookOver = Date.now() - t0
    expect((await fetch(`http://127.0.0.1:${portB}/api/v1/operations`)).status).toBe(200)
    console.info(`[nitro] standby took over ${tookOver} ms after the active was killed`)
  })
})
