// --json: stdout is one JSON document (what the gateway answered), nothing else; messages go to stderr.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ANSI, ktrdr as run, startTestGateway, type TestGateway } from '../../../test/kit/index.ts'

// A user's shell (test/kit userEnv): what a pipe receives without vitest's environment.
const ktrdr = (args: string[]) => run(args, { shell: 'user' })

let gw: TestGateway
beforeAll(async () => {
  gw = await startTestGateway()
})
afterAll(async () => {
  await gw?.close()
})

/** Runs `ktrdr args… --json` against the test gateway; its stdout must parse as a whole. */
async function json(...args: string[]): Promise<any> {
  const r = await ktrdr([...args, '--json', '--url', gw.url])
  expect(r.code, r.stderr).toBe(0)
  expect(r.stdout).not.toContain(ANSI)
  return JSON.parse(r.stdout)
}

describe('ktrdr … --json', () => {
  it('fn list: the list envelope', async () => {
    const page = await json('fn', 'list')
    expect(page).toMatchObject({ data: expect.any(Array), total_count: expect.any(Number), limit: expect.any(Number), offset: 0 })
    expect(page.data.length).toBe(page.total_count)
    for (const f of page.data) expect(f).toMatchObject({ name: expect.any(String), aliases: expect.any(Array) })
    expect(page.data.map((f: { name: string }) => f.name)).toContain('echo')
  })

  it('secret set, list and rm: each the gateway’s answer, never the value', async () => {
    const set = await json('secret', 'set', 'echo', 'API_KEY', '--value', 's3cret-value')
    expect(set).toEqual({ function: 'echo', name: 'API_KEY', updated_at: expect.any(String) })
    const list = await json('secret', 'list', 'echo')
    expect(list).toMatchObject({ function: 'echo', data: [{ name: 'API_KEY', updated_at: set.updated_at }], total_count: 1 })
    expect(JSON.stringify(list)).not.toContain('s3cret-value')
    const rm = await json('secret', 'rm', 'echo', 'API_KEY')
    expect(rm).toEqual({ function: 'echo', name: 'API_KEY', deleted: true })
    expect((await json('secret', 'list', 'echo')).data).toEqual([])
  })

  it('without --json the same commands print text, not JSON', async () => {
    for (const args of [
      ['fn', 'list'],
      ['secret', 'list', 'echo'],
    ]) {
      const r = await ktrdr([...args, '--url', gw.url])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.trimStart()).not.toMatch(/^[[{]/)
    }
  })
})
