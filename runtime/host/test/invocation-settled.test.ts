// One invocation (startInvocation) against a stand-in pool and executor whose messages the test
// delivers itself, so it can act in the one event-loop turn between the function's answer and the
// executor's return to the pool (a cancel or a deadline arriving there has nothing left to stop),
// and say what the answer tells the host about the scratch directory.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createConsola } from 'consola'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { DispatchRequest, HostToExecutor } from '../../protocol/index.ts'
import type { NewHostEvent } from '../_events.ts'
import type { Executor, InvocationListener } from '../_executors.ts'
import { startInvocation, type InvocationDeps } from '../_invocations.ts'
import { resolveHostOptions } from '../options.ts'

// The host's existsSync, counted: whether it looked for a scratch directory is the point of a case below.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>()
  return { ...fs, existsSync: vi.fn(fs.existsSync) }
})

const GRACE_MS = 1000

function setup({ deadlineMs = 60_000, cacheDir = '/nonexistent-ktrdr-cache' } = {}) {
  const sent: HostToExecutor[] = []
  let listener: InvocationListener | null = null
  const executor = {
    pid: 4242,
    capacity: 1,
    active: 1,
    alive: true,
    killedFor: null,
    outOfMemory: null,
    onOutput: null,
    stderrTail: () => '',
    send: (message: HostToExecutor) => void sent.push(message),
    listen: (_id: string, handlers: InvocationListener) => {
      listener = handlers
      return () => {
        listener = null
      }
    },
    kill: vi.fn(),
  } as unknown as Executor
  const pool = { acquire: vi.fn(async () => executor), release: vi.fn(), discard: vi.fn() }
  const events: NewHostEvent[] = []
  const deps = {
    options: resolveHostOptions({ cacheDir, cancelGraceMs: GRACE_MS }, {}),
    cache: {
      ensure: async () => ({ name: 'echo', version: 1, sha256: 'a'.repeat(64), manifest: { storage: {} }, entryPath: '/x', dir: '/' }),
      repair: async () => false,
    },
    pool,
    emit: (event: NewHostEvent) => void events.push(event),
    capabilities: { cores: 1, memory_gb: 1, gpu: false, ib: false, llm: false, slots: 1, labels: [] },
    logger: createConsola({ level: -999 }),
    storageAccess: { grant: () => ({ storage: {}, revoke: () => {} }) },
  } as unknown as InvocationDeps
  const request = {
    operation_id: 'op_test_settled',
    attempt: 1,
    function: { name: 'echo', version: 1, sha256: 'a'.repeat(64), bundle_key: 'echo/a.tgz', timeout_seconds: 60 },
    input: {},
    deadline_ms: Date.now() + deadlineMs,
  } as unknown as DispatchRequest
  const invocation = startInvocation(request, deps)
  /** Runs the microtasks queued so far and their followers, but no timer, I/O or setImmediate. */
  const microtasks = async () => {
    for (let i = 0; i < 50; i++) await Promise.resolve()
  }
  const answer = async (scratch?: boolean) => {
    await vi.waitFor(() => expect(listener).not.toBeNull())
    listener!.message({ type: 'result', id: 'op_test_settled#1', ok: true, result: { echoed: true }, aborted: false, scratch })
    // The outcome is known; the executor is not back in the pool yet (one turn for its last output).
    await microtasks()
    expect(pool.release).not.toHaveBeenCalled()
  }
  return { invocation, executor, pool, sent, events, answer, scratchDir: join(deps.options.cacheDir, 'scratch', 'op_test_settled-1') }
}

describe('an invocation whose function has answered', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('ignores a cancel that arrives while it hands its executor back: completed, executor reused, nothing killed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { invocation, executor, pool, sent, events, answer } = setup()
    await answer()
    invocation.cancel('Cancelled by the gateway')
    const outcome = await invocation.done
    expect(outcome.status).toBe('completed')
    expect(sent.filter((m) => m.type === 'cancel')).toEqual([])
    expect(pool.release).toHaveBeenCalledWith(executor)
    expect(pool.discard).not.toHaveBeenCalled()
    vi.advanceTimersByTime(GRACE_MS * 2)
    expect(executor.kill).not.toHaveBeenCalled()
    expect(events.map((e) => e.type)).toEqual(['started', 'completed'])
  })

  it('ignores its deadline passing then too', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { invocation, executor, pool, sent, answer } = setup({ deadlineMs: 5000 })
    await answer()
    vi.advanceTimersByTime(5000)
    const outcome = await invocation.done
    expect(outcome.status).toBe('completed')
    expect(sent.filter((m) => m.type === 'cancel')).toEqual([])
    expect(pool.release).toHaveBeenCalledWith(executor)
    vi.advanceTimersByTime(GRACE_MS * 2)
    expect(executor.kill).not.toHaveBeenCalled()
  })

  it('control: a cancel before the answer still stops it and retires the executor', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { invocation, executor, pool, sent } = setup()
    await vi.waitFor(() => expect(pool.acquire).toHaveBeenCalled())
    await vi.waitFor(() => expect(invocation.executor).toBe(executor))
    invocation.cancel('Cancelled by request')
    expect(sent.filter((m) => m.type === 'cancel')).toHaveLength(1)
    // It ignores the cancel: killed after the grace.
    vi.advanceTimersByTime(GRACE_MS)
    expect(executor.kill).toHaveBeenCalledWith('SIGKILL')
  })
})

describe('the scratch directory after an invocation', () => {
  // The result says whether the function made it (ctx.scratchDir is made on first read); the host
  // looks for it only when the result does not say it made none: a crash, a kill, an older bundle.
  const cases: Array<[string, boolean | undefined, boolean]> = [
    ['made: looked for and removed', true, true],
    ['not said (a bundle built before results said so): looked for and removed', undefined, true],
    ['said not made: not looked for', false, false],
  ]
  const present = (path: string) => {
    try {
      statSync(path)
      return true
    } catch {
      return false
    }
  }
  for (const [what, scratch, looked] of cases)
    it(what, async () => {
      const root = mkdtempSync(join(tmpdir(), 'ktrdr-scratch-'))
      try {
        const { invocation, scratchDir, answer } = setup({ cacheDir: root })
        mkdirSync(scratchDir, { recursive: true })
        vi.mocked(existsSync).mockClear()
        await answer(scratch)
        expect((await invocation.done).status).toBe('completed')
        expect(vi.mocked(existsSync).mock.calls.some(([path]) => path === scratchDir)).toBe(looked)
        if (looked) await vi.waitFor(() => expect(present(scratchDir)).toBe(false))
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    })
})
