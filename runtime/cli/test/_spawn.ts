// The ktrdr CLI as a user runs it: bin/ktrdr.mjs in a child process, stdout and stderr pipes.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

export const REPO = join(import.meta.dirname, '..', '..', '..')
export const BIN = join(REPO, 'bin', 'ktrdr.mjs')

/**
 * The environment of a user's shell: without what a test runner or CI sets, which makes citty and
 * consola drop colours on their own (TEST, CI, NODE_ENV=test) and would hide escape codes that a
 * user's pipe receives. TERM says the terminal could show colours.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...extra }
  for (const key of Object.keys(env))
    if (/^(?:VITEST.*|TEST|CI|NODE_ENV|NO_COLOR|FORCE_COLOR|KTRDR_API_URL|KTRDR_API_TOKEN)$/.test(key) && !(key in extra)) delete env[key]
  return env
}

export interface KtrdrRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Starts `ktrdr args…` with piped output; `done` resolves with its exit code and all it printed. */
export function startKtrdr(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<KtrdrRun>; output: () => KtrdrRun } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c) => (stdout += c))
  child.stderr!.on('data', (c) => (stderr += c))
  const done = new Promise<KtrdrRun>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
  return { child, done, output: () => ({ code: child.exitCode, stdout, stderr }) }
}

export const ktrdr = (args: string[], env: Record<string, string> = {}) => startKtrdr(args, env).done

/** An escape sequence (colour, bold, underline) anywhere in the text. */
export const ANSI = '\u001B['
