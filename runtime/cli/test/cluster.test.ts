// startLocalCluster and deployFunction, what `ktrdr up` and `ktrdr demo` are made of, with real
// hosts running the real echo bundle; and the one message every command prints without a gateway.
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ktrdr } from '../../../test/kit/index.ts'
import type { Operation, WorkerRecord } from '../../protocol/index.ts'
import { deployFunction, followOperation, resolveLocalClusterOptions, startLocalCluster, type LocalCluster } from '../index.ts'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktrdr-cli-cluster-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('startLocalCluster + deployFunction', () => {
  let cluster: LocalCluster
  afterAll(async () => {
    await cluster?.close({ timeoutMs: 1000 })
  })

  it('gateway and hosts up and registered, echo built and published once, invoked and followed to the end', async () => {
    cluster = await startLocalCluster({
      home: join(dir, 'home'),
      port: 0,
      hosts: 2,
      hostPort: 0,
      workerIdPrefix: 'kit-host',
      gateway: { quiet: true, apiToken: 'api-tok', clusterToken: 'cluster-tok' },
      host: { detectGpu: false, logLevel: 'warn' },
    })
    expect(cluster.client.token).toBe('api-tok')
    // The hosts registered with the gateway's cluster token; the API wants its own token.
    expect((await fetch(`${cluster.url}/api/v1/workers`)).status).toBe(401)
    const workers = await cluster.client<WorkerRecord[]>('/api/v1/workers')
    expect(workers.map((w) => w.worker_id).sort()).toEqual(['kit-host-1', 'kit-host-2'])

    const first = await deployFunction('echo', { gateway: cluster.client, outDir: join(dir, 'build'), sourceCommit: null })
    expect(first).toMatchObject({ name: 'echo', version: 1, created: true, source_commit: null })
    expect(first.built?.sha256).toBe(first.sha256)
    expect(first.buildMs).toBeGreaterThan(0)
    // The same archive again, by URL and token this time: the version it already is.
    const again = await deployFunction('echo', { gateway: cluster.url, token: 'api-tok', archive: first.built!.archivePath })
    expect(again).toMatchObject({ version: 1, created: false, sha256: first.sha256, built: null, buildMs: null })
    await expect(deployFunction('train', { gateway: cluster.client, archive: first.built!.archivePath })).rejects.toThrow(
      /not "train".*\(HTTP 4\d\d\)/,
    )

    const op = await cluster.client<Operation>('/api/v1/functions/echo/invoke', {
      method: 'POST',
      body: { input: { message: 'hi', steps: 2, delay_ms: 50 } },
    })
    const final = await followOperation(cluster.client, op.operation_id)
    expect(final).toMatchObject({ status: 'completed', function: { name: 'echo', version: 1 } })
    expect(final.worker_id).toMatch(/^kit-host-/)

    await cluster.close({ timeoutMs: 1000 })
    await expect(cluster.client('/health')).rejects.toThrow(/^Cannot reach the gateway at .*ECONNREFUSED/)
  })

  it('a host that cannot start stops the gateway that did', async () => {
    const blocker = createServer().listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    const busy = (blocker.address() as { port: number }).port
    const probe = createServer().listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const port = (probe.address() as { port: number }).port
    await new Promise((r) => probe.close(r))
    try {
      await expect(
        startLocalCluster({
          home: join(dir, 'home-2'),
          port,
          hosts: 1,
          hostPort: busy,
          gateway: { quiet: true, apiToken: null, clusterToken: null },
          host: { detectGpu: false, logLevel: 'error' },
        }),
      ).rejects.toThrow(/EADDRINUSE/)
      // Its port is free again: nothing of the half-started cluster is left listening.
      const again = createServer().listen(port, '127.0.0.1')
      await once(again, 'listening')
      await new Promise((r) => again.close(r))
    } finally {
      await new Promise((r) => blocker.close(r))
    }
  })

  it('settings are checked before anything starts, naming the one that is wrong', () => {
    expect(() => resolveLocalClusterOptions({ hosts: 65 })).toThrow('hosts must be an integer 0–64, got 65')
    expect(() => resolveLocalClusterOptions({ port: 70_000 })).toThrow('port must be an integer 0–65535, got 70000')
    expect(() => resolveLocalClusterOptions({ hosts: 3, hostPort: 65_534 })).toThrow('3 hosts from port 65534 run past 65535')
    expect(resolveLocalClusterOptions({}, { KTRDR_HOME: '/srv/ktrdr' })).toMatchObject({
      home: '/srv/ktrdr',
      port: 8000,
      hosts: 2,
      hostPort: 5003,
    })
  })
})

describe('every command without a gateway', () => {
  it('prints the same message naming the URL and the reason, and exits 1', async () => {
    const url = 'http://127.0.0.1:1'
    const results = await Promise.all(
      [['workers'], ['ops', 'watch', 'op_x'], ['invoke', 'echo', '--wait'], ['fn', 'list']].map((args) =>
        ktrdr([...args, '--url', url], { timeoutMs: 60_000 }),
      ),
    )
    for (const r of results) {
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(
        /^error: Cannot reach the gateway at http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1\. Start one/m,
      )
    }
  })
})
