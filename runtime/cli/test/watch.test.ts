// `ktrdr up --watch`: a save in a function folder redeploys it on a real cluster; a save that
// breaks the build publishes nothing and the deployed version keeps answering.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempProjectDir, type TempProjectDir } from '../../../test/kit/index.ts'
import type { Operation } from '../../protocol/index.ts'
import { scaffoldFunction } from '../_scaffold.ts'
import { watchFunctions, type FunctionWatcher, type FunctionWatchEvent } from '../_watch.ts'
import { deployFunction, startLocalCluster, type LocalCluster } from '../index.ts'

let dir: string
let project: TempProjectDir
let cluster: LocalCluster
let watcher: FunctionWatcher | undefined

/** The events the watcher reported, and a way to await the next one that matches. */
const events: FunctionWatchEvent[] = []
const waiters: Array<{ accepts: (e: FunctionWatchEvent) => boolean; resolve: (e: FunctionWatchEvent) => void }> = []
function onEvent(event: FunctionWatchEvent) {
  events.push(event)
  for (const waiter of waiters.filter((w) => w.accepts(event))) {
    waiters.splice(waiters.indexOf(waiter), 1)
    waiter.resolve(event)
  }
}
function next(accepts: (e: FunctionWatchEvent) => boolean, what: string, timeoutMs = 180_000): Promise<FunctionWatchEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`No ${what} within ${timeoutMs} ms; events: ${JSON.stringify(events.map((e) => e.type))}`)),
      timeoutMs,
    )
    waiters.push({
      accepts,
      resolve: (e) => {
        clearTimeout(timer)
        resolve(e)
      },
    })
  })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktrdr-cli-watch-'))
  project = await tempProjectDir('watch-')
  cluster = await startLocalCluster({
    home: join(dir, 'home'),
    port: 0,
    hosts: 1,
    hostPort: 0,
    gateway: { quiet: true, apiToken: null, clusterToken: null },
    host: { detectGpu: false, logLevel: 'warn' },
  })
})
afterAll(async () => {
  await watcher?.close()
  await cluster?.close({ timeoutMs: 1000 })
  await rm(dir, { recursive: true, force: true })
  await project?.cleanup()
})

async function invoke(message: string) {
  const op = await cluster.client<Operation>('/api/v1/functions/watched/invoke', {
    method: 'POST',
    body: { input: { message }, wait_seconds: 60 },
  })
  expect(op.status).toBe('completed')
  return { version: op.function.version, result: op.result as Record<string, unknown> }
}

describe('watchFunctions', () => {
  it('redeploys on save; a README edit builds nothing; a type error keeps the old version serving', async () => {
    const { dir: fnDir } = await scaffoldFunction('watched', { dir: project.dir })
    const outDir = join(dir, 'build')
    await deployFunction(fnDir, { gateway: cluster.client, outDir, sourceCommit: null })
    expect(await invoke('one')).toMatchObject({ version: 1, result: { echoed: ['one'] } })

    watcher = watchFunctions({ root: project.dir, gateway: cluster.client, outDir, debounceMs: 200, onEvent })
    const index = join(fnDir, 'index.ts')
    const source = await readFile(index, 'utf8')

    // A saved edit: built (type check first) and deployed as version 2, which answers.
    const deployed = next((e) => e.type === 'deployed' || e.type === 'failed', 'deploy after the edit')
    await writeFile(index, source.replace('operation_id: ctx.operationId', "operation_id: ctx.operationId, edition: 'second'"))
    const d = await deployed
    expect(d).toMatchObject({ type: 'deployed', name: 'watched', deployed: { version: 2, created: true } })
    expect(await invoke('two')).toMatchObject({ version: 2, result: { echoed: ['two'], edition: 'second' } })

    // The README is not part of the bundle: checked against latest, nothing built.
    const unchanged = next((e) => e.type !== 'building', 'the README check')
    await writeFile(join(fnDir, 'README.md'), '# watched\n\nNow documented.\n')
    expect(await unchanged).toMatchObject({ type: 'unchanged', deployed: { version: 2, built: null } })

    // A type error: the build fails with tsc's message, nothing is published, version 2 keeps answering.
    const failed = next((e) => e.type !== 'building', 'the failed build')
    await writeFile(index, source.replace('operation_id: ctx.operationId', 'operation_id: ctx.operationId satisfies number'))
    const f = await failed
    expect(f).toMatchObject({ type: 'failed', name: 'watched', error: { code: 'FUNCTION_TYPECHECK_FAILED' } })
    expect((f as { error: Error }).error.message).toMatch(/watched\/index\.ts\(\d+,\d+\): error TS\d+:/)
    expect(await invoke('three')).toMatchObject({ version: 2, result: { echoed: ['three'], edition: 'second' } })
    const fn = await cluster.client<{ versions: unknown[] }>('/api/v1/functions/watched')
    expect(fn.versions).toHaveLength(2)
  }, 600_000)
})
