// deployFunction against a real gateway and registry: unchanged sources are not rebuilt, edited
// ones are, and a gateway that is not there is noticed before the build.
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRealGateway, tempProjectDir, type RealGateway, type TempProjectDir } from '../../../test/kit/index.ts'
import { scaffoldFunction } from '../_scaffold.ts'
import { createGatewayClient, deployFunction } from '../index.ts'

let g: RealGateway
let dir: string
let project: TempProjectDir

beforeAll(async () => {
  project = await tempProjectDir('deploy-')
  g = await startRealGateway({ apiToken: 'api-tok' })
  dir = g.dir
})
afterAll(async () => {
  await g?.close()
  await project?.cleanup()
})

describe('deployFunction', () => {
  it('builds and publishes edited sources, and skips the build when latest was built from the same ones', async () => {
    const { dir: fnDir } = await scaffoldFunction('redeploy-me', { dir: project.dir })
    const client = createGatewayClient({ url: g.url, token: 'api-tok' })
    const outDir = join(dir, 'build')

    const first = await deployFunction(fnDir, { gateway: client, outDir, sourceCommit: null })
    expect(first).toMatchObject({ name: 'redeploy-me', version: 1, created: true, unchanged: false })
    expect(first.built).not.toBeNull()
    expect(first.manifest.source_sha256).toMatch(/^[0-9a-f]{64}$/)

    // Unchanged: no build, no upload, the version latest already is.
    const t0 = performance.now()
    const again = await deployFunction(fnDir, { gateway: client, outDir, sourceCommit: null })
    const unchangedMs = performance.now() - t0
    expect(again).toMatchObject({ version: 1, created: false, unchanged: true, built: null, buildMs: null, sha256: first.sha256 })
    console.log(`unchanged redeploy: ${Math.round(unchangedMs)} ms (the build it skipped: ${first.buildMs} ms)`)

    // A saved edit to a module of the function: built and published as version 2.
    const index = join(fnDir, 'index.ts')
    await writeFile(
      index,
      (await readFile(index, 'utf8')).replace('operation_id: ctx.operationId', 'operation_id: ctx.operationId, edited: true'),
    )
    const edited = await deployFunction(fnDir, { gateway: client, outDir, sourceCommit: null })
    expect(edited).toMatchObject({ version: 2, created: true, unchanged: false })
    expect(edited.manifest.source_sha256).not.toBe(first.manifest.source_sha256)

    // force builds although nothing changed; the same bytes are the version they already are.
    const forced = await deployFunction(fnDir, { gateway: client, outDir, sourceCommit: null, force: true })
    expect(forced).toMatchObject({ version: 2, created: false, unchanged: false, sha256: edited.sha256 })
    expect(forced.built).not.toBeNull()

    // After a rollback latest is version 1, built from other sources: deploying publishes the current code again.
    await client('/api/v1/functions/redeploy-me/rollback', { method: 'POST' })
    const back = await deployFunction(fnDir, { gateway: client, outDir, sourceCommit: null })
    expect(back).toMatchObject({ version: 2, unchanged: false })
    const fn = await client<{ aliases: Array<{ alias: string; routes: Array<{ version: number }> }> }>('/api/v1/functions/redeploy-me')
    expect(fn.aliases.find((a) => a.alias === 'latest')!.routes).toEqual([expect.objectContaining({ version: 2 })])
  })

  it('asks the gateway before building: one that is not there fails at once and nothing is built', async () => {
    // A port that nothing listens on: bound, its number taken, closed.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number }
        server.close(() => resolve(port))
      })
    })
    const outDir = join(dir, 'never-built')
    await expect(deployFunction('echo', { gateway: `http://127.0.0.1:${port}`, token: null, outDir })).rejects.toThrow(
      /^Cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    )
    expect(existsSync(outDir)).toBe(false)
  })

  it('asks with the API token too: a wrong one is refused before the build', async () => {
    const outDir = join(dir, 'refused')
    await expect(deployFunction('echo', { gateway: g.url, token: 'wrong', outDir })).rejects.toThrow(/HTTP 401/)
    expect(existsSync(outDir)).toBe(false)
  })
})
