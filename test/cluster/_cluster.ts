// Helpers for cluster tests beside the shared kit's (test/kit): free ports, ktrdr child processes.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'

export const REPO = resolve(import.meta.dirname, '../..')

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolvePort(port))
    })
  })
}

export interface KtrdrChild {
  proc: ChildProcess
  output: () => string
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** `node bin/ktrdr.mjs <args>` as a child process with its output captured. */
export function spawnKtrdr(args: string[], env: Record<string, string> = {}): KtrdrChild {
  const proc = spawn(process.execPath, [join(REPO, 'bin/ktrdr.mjs'), ...args], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'info', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  return {
    proc,
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      await exited
    },
  }
}
