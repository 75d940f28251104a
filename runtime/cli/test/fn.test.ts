// `ktrdr fn …` as a user runs it: a real CLI process against a real gateway with the real registry.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ktrdr as run, startRealGateway, type RealGateway } from '../../../test/kit/index.ts'

let g: RealGateway
let dir: string
const ktrdr = (...args: string[]) => run(args, { url: g.url, timeoutMs: 120_000 })

beforeAll(async () => {
  g = await startRealGateway()
  dir = g.dir
})
afterAll(async () => {
  await g?.close()
})

describe('ktrdr fn', () => {
  it('build → deploy → list → versions → alias → rollback, with clear errors', async () => {
    const build = await ktrdr('fn', 'build', 'echo', '--out', join(dir, 'build'), '--json')
    expect(build.code).toBe(0)
    const built = JSON.parse(build.stdout)
    expect(built).toMatchObject({ name: 'echo', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })

    const deploy = await ktrdr('fn', 'deploy', 'echo', '--archive', built.archivePath)
    expect(deploy.code).toBe(0)
    expect(deploy.stdout).toContain(`deployed echo@1  sha256 ${built.sha256}`)
    const again = await ktrdr('fn', 'deploy', 'echo', '--archive', built.archivePath, '--json')
    expect(JSON.parse(again.stdout)).toMatchObject({ version: 1, created: false })

    const list = await ktrdr('fn', 'list', '--json')
    // --json prints the gateway's answer: the list envelope.
    expect(JSON.parse(list.stdout)).toMatchObject({
      data: [expect.objectContaining({ name: 'echo', latest: 1, versions: 1 })],
      total_count: 1,
    })
    const versions = await ktrdr('fn', 'versions', 'echo')
    expect(versions.stdout).toMatch(/VERSION\s+SHA256/)
    expect(versions.stdout).toContain(built.sha256.slice(0, 12))

    const alias = await ktrdr('fn', 'alias', 'echo', 'stable', '1')
    expect(alias.stdout.trim()).toBe('echo@stable→1')
    const badAlias = await ktrdr('fn', 'alias', 'echo', 'stable', 'one')
    expect(badAlias.code).not.toBe(0)
    expect(badAlias.stderr).toContain('is not <version> or <version>=<weight>')

    const rollback = await ktrdr('fn', 'rollback', 'echo')
    expect(rollback.code).not.toBe(0)
    expect(rollback.stderr).toContain('no version before 1')

    const wrongName = await ktrdr('fn', 'deploy', 'train', '--archive', built.archivePath)
    expect(wrongName.code).not.toBe(0)
    expect(wrongName.stderr).toContain('not "train"')
    const missing = await ktrdr('fn', 'build', 'no-such-fn')
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain('No function at "no-such-fn"')
  })
})
