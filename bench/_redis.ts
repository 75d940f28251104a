// A throwaway redis-server for the peer rows of the benches: loopback port, temp dir, own process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../test/cluster/_cluster.ts'

export interface RedisServer {
  port: number
  pid: number
  /** How it persists, for the report: "AOF, appendfsync always". */
  persistence: string
  version: string
  stop(): Promise<void>
}

export type RedisPersistence = 'always' | 'everysec'

/** Why redis-server cannot run here, or null when it can. */
export function redisUnavailable(): string | null {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (probe.error) return `redis-server not found (${(probe.error as NodeJS.ErrnoException).code}): apt-get install -y redis-server`
  return probe.status === 0 ? null : `redis-server --version exited with ${probe.status}`
}

/**
 * Starts redis-server with an append-only file fsynced as asked (`always`: before every reply batch,
 * in the event loop, like a commit; `everysec`: written to the OS at once, fsynced once a second),
 * no RDB snapshots. Resolves once it says it accepts connections.
 */
export async function startRedis(appendfsync: RedisPersistence): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ktrdr-bench-redis-'))
  const port = await freePort()
  const version = /v=([\d.]+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?'
  const proc: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      appendfsync,
      '--protected-mode',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString()
      if (output.includes('Ready to accept connections')) {
        proc.stdout!.off('data', onData)
        proc.stdout!.resume()
        resolve()
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()))
    proc.once('error', reject)
    void exited.then(() => reject(new Error(`redis-server exited before it was ready:\n${output}`)))
  })
  return {
    port,
    pid: proc.pid!,
    version,
    persistence: `AOF, appendfsync ${appendfsync}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await exited
      await rm(dir, { recursive: true, force: true })
    },
  }
}
