// A throwaway PostgreSQL server for tests: Debian's binaries, a temp data directory, a loopback
// port, trust auth. One server per test file, a fresh database per test. Where PostgreSQL is not
// installed or cannot start, startTestPostgres() resolves null and says why (tests then skip).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createServer } from 'node:net'

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  adminUrl: string
  port: number
  /** CREATE DATABASE with a fresh name; resolves its URL. */
  createDatabase(): Promise<string>
  /** Fast shutdown, then the data directory is removed. */
  stop(): Promise<void>
}

/** The newest /usr/lib/postgresql/<v>/bin that has initdb and postgres. */
export function findPostgresBin(): string | null {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root).filter(
    (v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')),
  )
  versions.sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : null
}

let skipReason = ''
/** Why the last startTestPostgres() resolved null. */
export const postgresSkipReason = () => skipReason

export async function startTestPostgres(settings: Record<string, string> = {}): Promise<TestPostgres | null> {
  const bin = findPostgresBin()
  if (!bin) return skip('PostgreSQL is not installed (apt-get install postgresql; scripts/ci-setup.sh does it in CI)')
  // PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user.
  const asRoot = process.getuid?.() === 0
  let uid: number | undefined, gid: number | undefined
  if (asRoot) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
    const gidOut = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
    if (id.status !== 0) return skip('running as root and there is no `postgres` user to run PostgreSQL as')
    uid = Number(id.stdout.trim())
    gid = Number(gidOut.stdout.trim())
  }
  const dir = mkdtempSync(join(tmpdir(), 'ktrdr-pg-'))
  const data = join(dir, 'data')
  if (asRoot) {
    chownSync(dir, uid!, gid!)
    chmodSync(dir, 0o700)
  }
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'utf8', '--no-instructions'], {
    encoding: 'utf8',
    uid,
    gid,
  })
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    return skip(`initdb failed: ${(init.stderr || init.stdout || String(init.error)).trim().split('\n').slice(-2).join(' ')}`)
  }
  const port = await freePort()
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=100',
    '-c',
    'shared_buffers=32MB',
  ]
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`)
  const proc = spawn(join(bin, 'postgres'), args, { uid, gid, stdio: ['ignore', 'pipe', 'pipe'] })
  const started = await new Promise<string | null>((resolve) => {
    let log = ''
    const onData = (d: Buffer) => {
      log += d.toString()
      if (log.includes('database system is ready to accept connections')) {
        done()
        resolve(null)
      }
    }
    const onExit = () => {
      done()
      resolve(`postgres exited: ${log.trim().split('\n').slice(-2).join(' ')}`)
    }
    const done = () => {
      proc.stderr!.off('data', onData)
      proc.stdout!.off('data', onData)
      proc.off('exit', onExit)
    }
    proc.stderr!.on('data', onData)
    proc.stdout!.on('data', onData)
    proc.once('exit', onExit)
  })
  // Keep draining its output so the server never blocks on a full pipe.
  proc.stderr!.resume()
  proc.stdout!.resume()
  if (started) {
    rmSync(dir, { recursive: true, force: true })
    return skip(started)
  }
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null) resolve()
    else proc.once('exit', () => resolve())
  })
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`
  let n = 0
  return {
    adminUrl,
    port,
    async createDatabase() {
      const name = `ktrdr_test_${process.pid}_${++n}`
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`
    },
    async stop() {
      stopChild(proc)
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function stopChild(proc: ChildProcess) {
  // SIGINT = fast shutdown: open sessions are ended, no checkpoint wait for clients.
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT')
}

function skip(reason: string): null {
  skipReason = reason
  console.warn(`[postgres] skipping the PostgreSQL tests: ${reason}`)
  return null
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolvePort(port))
    })
  })
}
