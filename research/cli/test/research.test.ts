// `ktrdr research start --wait` against a gateway with the research routes (fake functions), the CLI
// spawned as a user runs it, through a loopback proxy that records the requests it makes.
import { execFile } from 'node:child_process'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { until } from '../../../test/kit/index.ts'
import { startFakeLlmHost, startResearchGateway } from '../../loop/test/_fake-cluster.ts'

const root = join(import.meta.dirname, '../../..')
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

/** Forwards every request to `target` (event streams too) and keeps each one's method and path. */
async function recordingProxy(target: string) {
  const seen: string[] = []
  const to = new URL(target)
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    // A connection of its own per request (agent: false), closed with the client's: an event
    // stream the CLI stops reading must not leave a half-read response on a reused socket.
    const upstream = request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => res.destroy())
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

describe('ktrdr research start --wait', () => {
  it('waits for a pending loop with the gateway answering at its next change, then follows it to its end', async () => {
    // One loop at a time, and no llm host yet: the first loop holds the only slot in `designing`.
    process.env.KTRDR_RESEARCH_MAX_CONCURRENT = '1'
    cleanups.push(() => delete process.env.KTRDR_RESEARCH_MAX_CONCURRENT)
    const g = await startResearchGateway()
    cleanups.push(() => g.close())
    const proxy = await recordingProxy(g.url)
    cleanups.push(() => proxy.close())
    const first = (await g.api('/api/v1/research', { body: { brief: 'hold the slot' } })).body.operation_id as string

    const cli = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(root, 'bin/ktrdr.mjs'), 'research', 'start', '--brief', 'wait your turn', '--wait', '--url', proxy.url],
        { cwd: root, env: { ...process.env, KTRDR_API_TOKEN: '' } },
        (error, stdout, stderr) => resolve({ code: (error as { code?: number } | null)?.code ?? 0, stdout, stderr }),
      )
    })
    // The second loop is pending (no child to follow): the CLI asks the gateway to answer at its next change.
    const second = await until(
      async () => (await g.api('/api/v1/research?status=pending')).body.data[0]?.operation_id as string | undefined,
      60_000,
    )
    await until(
      () => proxy.seen.some((r) => r.startsWith(`GET /api/v1/research/${second}?wait_seconds=`) && r.includes('changed_after=')),
      60_000,
    )
    // Its turn: the first loop is cancelled, an llm host registers, the second runs to its end.
    await g.api(`/api/v1/research/${first}`, { method: 'DELETE' })
    const h = await startFakeLlmHost(g.url, 'llm-1')
    cleanups.push(() => h.close())
    const out = await cli
    expect(out.code, out.stderr + proxy.seen.join('\n')).toBe(0)
    expect(out.stdout).toContain(`Started ${second}`)
    expect(out.stdout).toMatch(new RegExp(`${second}  completed  phase done`))
    // Pushed, not polled: a handful of requests for the whole loop.
    const reads = proxy.seen.filter((r) => r.startsWith(`GET /api/v1/research/${second}`))
    expect(reads.length).toBeLessThanOrEqual(12)
  }, 120_000)
})
