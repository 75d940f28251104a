// `ktrdr up` as a user runs it: an edited function is redeployed at the next start (it was never
// redeployed once it had a version), and with --watch on every save.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT, tempProjectDir, type TempProjectDir } from '../../../test/kit/index.ts'
import { scaffoldFunction } from '../_scaffold.ts'

let dir: string
let project: TempProjectDir
const running = new Set<ChildProcess>()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktrdr-cli-up-'))
  project = await tempProjectDir('up-')
})
afterAll(async () => {
  for (const child of running) child.kill('SIGKILL')
  await rm(dir, { recursive: true, force: true })
  await project?.cleanup()
})

/** `ktrdr up` on free ports, no hosts, our own home and functions folder; its output read line by line. */
function up(...extra: string[]) {
  const child = spawn(
    process.execPath,
    [
      join(PROJECT_ROOT, 'bin', 'ktrdr.mjs'),
      'up',
      '--hosts',
      '0',
      '--port',
      '0',
      '--home',
      join(dir, 'home'),
      '--functions',
      project.dir,
      ...extra,
    ],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, KTRDR_API_TOKEN: '', KTRDR_CLUSTER_TOKEN: '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  running.add(child)
  const lines: string[] = []
  // Lines are matched in order from a cursor: several can arrive in one chunk, before the next wait is asked for.
  let cursor = 0
  let waiter: { re: RegExp; resolve: (line: string) => void } | null = null
  const scan = () => {
    if (!waiter) return
    const at = lines.findIndex((l, i) => i >= cursor && waiter!.re.test(l))
    if (at < 0) return
    cursor = at + 1
    const { resolve } = waiter
    waiter = null
    resolve(lines[at])
  }
  const onLine = (line: string) => {
    lines.push(line)
    scan()
  }
  createInterface({ input: child.stdout! }).on('line', onLine)
  createInterface({ input: child.stderr! }).on('line', onLine)
  const exited = once(child, 'exit')
  return {
    lines,
    /** The next line that matches, after the last one matched (an exit before it fails with the output so far). */
    line: (re: RegExp) =>
      Promise.race([
        new Promise<string>((resolve) => {
          waiter = { re, resolve }
          scan()
        }),
        exited.then(() => {
          throw new Error(`ktrdr up exited before printing ${re}:\n${lines.join('\n')}`)
        }),
        // A bound, so that a regression fails with the output instead of the test's timeout.
        sleep(240_000, undefined, { ref: false }).then(() => {
          throw new Error(`ktrdr up printed no ${re} in 240 s:\n${lines.join('\n')}`)
        }),
      ]),
    async stop() {
      child.kill('SIGINT')
      const [code] = await exited
      running.delete(child)
      return code as number | null
    },
  }
}

describe('ktrdr up', () => {
  it('redeploys a function whose sources changed, at start and on save with --watch', async () => {
    const { dir: fnDir } = await scaffoldFunction('upped', { dir: project.dir })
    const index = join(fnDir, 'index.ts')
    const source = await readFile(index, 'utf8')

    const first = up()
    await first.line(/Deployed upped@1 /)
    await first.line(/Gateway\s+http:\/\/127\.0\.0\.1:\d+/)
    expect(await first.stop()).toBe(0)

    // Edited while no cluster ran: the next `up` publishes it (before, a function with any version was skipped).
    await writeFile(index, source.replace('operation_id: ctx.operationId', "operation_id: ctx.operationId, edition: 'second'"))
    const watching = up('--watch')
    await watching.line(/Deployed upped@2 /)
    await watching.line(/Watching\s+.*: a saved function is rebuilt and deployed/)

    // Saved while it runs: type-checked, built and deployed as version 3.
    const third = watching.line(/Deployed upped@3 |upped: .*error/)
    await writeFile(index, source.replace('operation_id: ctx.operationId', "operation_id: ctx.operationId, edition: 'third'"))
    expect(await third).toMatch(/Deployed upped@3 /)
    expect(await watching.stop()).toBe(0)

    // Nothing changed since: the next start builds nothing.
    const again = up()
    expect(await again.line(/upped@3 is up to date|Deployed upped@/)).toMatch(/upped@3 is up to date/)
    // Stopped once it is up (a signal during the start-up has no handler yet and kills it).
    await again.line(/Gateway\s+http:/)
    expect(await again.stop()).toBe(0)
  }, 600_000)
})
