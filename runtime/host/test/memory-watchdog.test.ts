// The RSS watchdog (hosts without a delegated cgroup): one descriptor per watched child, read again
// at every tick, closed when the watch stops or the child goes away.
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readlinkSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryGuard } from '../_memory.ts'
import { until } from '../../../test/kit/index.ts'

const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
})

function idleChild(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  children.push(child)
  return child
}

/** This process's descriptors open on /proc/<pid>/status. */
const statusFds = (pid: number) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === `/proc/${pid}/status`
    } catch {
      return false
    }
  }).length

describe.runIf(process.platform === 'linux')('RSS watchdog', () => {
  it('keeps one descriptor per child across ticks and closes it when stopped', async () => {
    const guard = createMemoryGuard({ mode: 'rss' })
    const child = idleChild()
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      const watch = guard.watch(child.pid!, 4096, () => {})
      // Several 50 ms ticks, each a real read: the same single descriptor all along (not one opened
      // and closed per read).
      for (let i = 0; i < 4; i++) {
        vi.advanceTimersByTime(50)
        expect(statusFds(child.pid!)).toBe(1)
      }
      watch.stop()
      expect(statusFds(child.pid!)).toBe(0)
      expect(watch.exceeded()).toBe(false)
    } finally {
      vi.useRealTimers()
    }
  })

  it('kills a child past its limit and says so, then lets go of its descriptor', async () => {
    const guard = createMemoryGuard({ mode: 'rss' })
    const child = idleChild()
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
    let usage: { rss_mb: number | null } | null = null
    // 1 MB: any Node process is past it at the first tick.
    const watch = guard.watch(child.pid!, 1, (u) => (usage = u))
    expect(await exited).toBe('SIGKILL')
    await until(() => usage !== null, 5000, 'the exceeded callback')
    expect(usage!.rss_mb).toBeGreaterThan(1)
    expect(watch.exceeded()).toBe(true)
    expect(statusFds(child.pid!)).toBe(0)
  })

  it('stops by itself when the child exits', async () => {
    const guard = createMemoryGuard({ mode: 'rss' })
    const child = idleChild()
    const watch = guard.watch(child.pid!, 4096, () => {})
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
    await until(() => statusFds(child.pid!) === 0, 5000, 'the descriptor closed after the exit')
    expect(watch.exceeded()).toBe(false)
  })
})
