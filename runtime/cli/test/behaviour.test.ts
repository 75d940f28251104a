// The CLI's manners, from outside: its version, what it says to a mistyped command or option and
// with which exit code (2: the command line, 1: a failure), no escape codes down a pipe, and
// `ktrdr up` on a port that is taken or not the default.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  ANSI,
  KTRDR_BIN as BIN,
  ktrdr as run,
  PROJECT_ROOT as REPO,
  startKtrdr as start,
  userEnv,
  type KtrdrRun,
} from '../../../test/kit/index.ts'

// What a user's shell holds (userEnv), not what vitest sets: escape codes show where they would.
const ktrdr = (args: string[]) => run(args, { shell: 'user' })
const startKtrdr = (args: string[]) => start(args, { shell: 'user' })

const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version
const dir = mkdtempSync(join(tmpdir(), 'ktrdr-cli-behaviour-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Output a user would see, with what matters about it checked: no escape codes, no stack trace. */
function plain(r: KtrdrRun): KtrdrRun {
  expect(r.stdout + r.stderr).not.toContain(ANSI)
  expect(r.stderr).not.toMatch(/^\s+at /m)
  return r
}

describe('ktrdr --version', () => {
  it('prints the package version, with -v too', async () => {
    for (const flag of ['--version', '-v']) {
      const r = plain(await ktrdr([flag]))
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' })
    }
  })
})

describe('usage errors exit 2 and say what was meant; failures exit 1', () => {
  it('an unknown command, at the root or below: a suggestion, nothing on stdout', async () => {
    const root = plain(await ktrdr(['wokers']))
    expect(root.code).toBe(2)
    expect(root.stdout).toBe('')
    expect(root.stderr).toBe('error: Unknown command "wokers" for ktrdr. Did you mean "workers"? Run `ktrdr --help` for its commands.\n')
    const sub = plain(await ktrdr(['fn', 'deplyo', 'echo']))
    expect(sub.code).toBe(2)
    expect(sub.stderr).toContain('Unknown command "deplyo" for ktrdr fn. Did you mean "deploy"?')
    const far = plain(await ktrdr(['zzzzzz']))
    expect(far.code).toBe(2)
    expect(far.stderr).not.toContain('Did you mean')
  })

  it('an unknown option: a suggestion among the command’s options (citty alone would run the command without it)', async () => {
    const r = plain(await ktrdr(['fn', 'list', '--jsno', '--url', 'http://127.0.0.1:1']))
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('Unknown option --jsno for ktrdr fn list. Did you mean --json?')
  })

  it('a missing positional: the command’s usage and the error, both on stderr', async () => {
    const r = plain(await ktrdr(['fn', 'versions']))
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/USAGE ktrdr fn versions/)
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('error: Missing required positional argument: NAME')
  })

  it('a flag value a command refuses: one line, exit 2', async () => {
    const r = plain(await ktrdr(['up', '--port', 'abc']))
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'error: --port must be 0–65535, got "abc"\n' })
  })

  it('a command that runs and fails: one line, exit 1', async () => {
    const r = plain(await ktrdr(['fn', 'list', '--url', 'http://127.0.0.1:1']))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: Cannot reach the gateway at http:\/\/127\.0\.0\.1:1\b.*\n$/)
  })
})

describe('no escape codes down a pipe', () => {
  it('help (the root’s, a group’s, up’s) and errors', async () => {
    for (const args of [['--help'], ['fn', '--help'], ['up', '--help'], ['fn', 'list', '-h']]) {
      const r = plain(await ktrdr(args))
      expect(r.code, args.join(' ')).toBe(0)
      expect(r.stdout).toMatch(/^USAGE ktrdr/m)
    }
  })

  // A terminal from util-linux's script(1): the same help is coloured there, unless NO_COLOR is set
  // (to anything: no-color.org; citty alone knew only NO_COLOR=1).
  const script = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p))
  it.skipIf(!script)('on a terminal: colours, none with NO_COLOR', () => {
    const onTty = (env: Record<string, string>) =>
      spawnSync(script!, ['-qec', `"${process.execPath}" "${BIN}" up --help`, '/dev/null'], {
        cwd: REPO,
        env: userEnv(env),
        encoding: 'utf8',
      })
    const coloured = onTty({})
    expect(coloured.status, coloured.stderr).toBe(0)
    expect(coloured.stdout).toContain(ANSI)
    const noColor = onTty({ NO_COLOR: 'true' })
    expect(noColor.stdout).toMatch(/USAGE ktrdr up/)
    expect(noColor.stdout).not.toContain(ANSI)
  })
})

describe('ktrdr up', () => {
  const listening: Server[] = []
  afterAll(async () => {
    await Promise.all(listening.map((s) => new Promise((resolve) => s.close(resolve))))
  })
  /** A port something else holds. */
  async function takenPort(): Promise<number> {
    const server = createServer()
    listening.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return (server.address() as { port: number }).port
  }

  it('on a port in use: one line naming the port and --port, exit 1', async () => {
    const port = await takenPort()
    const r = plain(await ktrdr(['up', '--port', String(port), '--hosts', '0', '--no-deploy', '--home', join(dir, 'taken')]))
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `error: Port ${port} is already in use (127.0.0.1:${port}; another ktrdr up or gateway?): choose another with --port, e.g. ktrdr up --port ${port + 1}\n`,
    )
  })

  it('with a host port in use: names it and --host-port, stops what it started, exit 1', async () => {
    const port = await takenPort()
    const r = plain(
      await ktrdr(['up', '--port', '0', '--hosts', '1', '--host-port', String(port), '--no-deploy', '--home', join(dir, 'host')]),
    )
    expect(r.code).toBe(1)
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(
      `error: Port ${port} is already in use (127.0.0.1:${port}), wanted by a host: choose the first host port with --host-port (0 picks free ones)`,
    )
  })

  it('on another port than 8000: the hints carry --url', async () => {
    const up = startKtrdr(['up', '--port', '0', '--hosts', '0', '--no-deploy', '--home', join(dir, 'hints')])
    try {
      // The banner is one write; wait for its last hint line, or the end of the process.
      const banner = await new Promise<string>((resolve, reject) => {
        up.child.stdout!.on('data', () => {
          if (/curl -s \S+\/api\/v1\/workers\n/.test(up.output().stdout)) resolve(up.output().stdout)
        })
        void up.done.then((r) => reject(new Error(`ktrdr up exited ${r.code}: ${r.stderr}`)))
      })
      const url = banner.match(/Gateway {5}(http:\/\/127\.0\.0\.1:\d+)/)![1]
      expect(url).not.toBe('http://127.0.0.1:8000')
      expect(banner).toContain(`ktrdr.mjs invoke echo --input '{"message":"hello"}' --wait --url ${url}\n`)
      expect(banner).not.toContain(ANSI)
    } finally {
      up.child.kill('SIGTERM')
      await up.done
    }
  })
})
