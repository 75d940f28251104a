// The invoker gives the operations of one function version and request flags one frozen plan, so
// the store writes its JSON once; other flags get a plan of their own, and none can be changed.
import { describe, expect, it } from 'vitest'
import { useTestCores } from './_core.ts'

const { core } = useTestCores()

describe('dispatch plans', () => {
  it('shares one frozen plan among invocations that ask the same, and makes another for other flags', async () => {
    const c = await core()
    const plan = async (id: string) => c.operations.getLive(id)!.plan
    const [a, b] = [await plan(await c.invoke('echo')), await plan(await c.invoke('echo', { priority: 3 }))]
    expect(b).toBe(a)
    expect(Object.isFrozen(a) && Object.isFrozen(a.function) && Object.isFrozen(a.placement)).toBe(true)
    expect(() => {
      ;(a.placement as { preferGpu: boolean }).preferGpu = true
    }).toThrow(TypeError)

    const gpu = await plan(await c.invoke('echo', { prefer_gpu: true }))
    expect(gpu).not.toBe(a)
    expect(gpu.placement.preferGpu).toBe(true)
    const retries = await plan(await c.invoke('echo', { max_attempts: 7 }))
    expect(retries.attempt_budget).toBe(7)
    expect(a.attempt_budget).not.toBe(7)
    expect((await plan(await c.invoke('gpu-job'))).function.name).toBe('gpu-job')
  })
})
