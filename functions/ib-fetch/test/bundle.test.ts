import { fork } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildFunctionBundle, tempStorage, type TempStorage } from '../../../test/kit/index.ts'
import type { ExecutorToHost } from '../../../runtime/protocol/index.ts'
import { resolveStorageOptions } from '../../../storage/index.ts'
import { loadBars } from '../../../trading/index.ts'
import { systemClock } from '../src/clock.ts'
import { createTwsSimulator } from './tws-sim/server.ts'

const temps: TempStorage[] = []
afterAll(async () => {
  for (const t of temps) await t.cleanup()
})

describe('ib-fetch bundle', () => {
  it('builds with Nitro and fetches from the simulator in a forked executor, settings from host env', async () => {
    const temp = await tempStorage('ktrdr-ib-bundle-')
    temps.push(temp)
    const dir = temp.root
    const built = await buildFunctionBundle('ib-fetch', { outDir: join(dir, 'build') })
    expect(built.manifest).toMatchObject({ name: 'ib-fetch', operation_type: 'data_load', placement: { requires: { ib: true } } })

    const sim = await createTwsSimulator({ clock: systemClock, series: { EUR: { seed: 2, head: Date.UTC(2025, 0, 1), type: 'CASH' } } })
    const child = fork(join(built.outputDir, 'server/index.mjs'), [], {
      env: { ...process.env, IB_HOST: '127.0.0.1', IB_PORT: String(sim.port), IB_CLIENT_ID: '251-252', KTRDR_IB_PACING_DIR: dir },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
    try {
      // What a host sends: the mounts plus the scope the manifest declares (ib-fetch writes data).
      const storage = { ...resolveStorageOptions({ root: temp.storageRoot }), scope: built.manifest.storage ?? {}, who: 'ib-fetch@test' }
      const result = await new Promise<ExecutorToHost>((resolve, reject) => {
        child.on('error', reject)
        child.on('exit', (code) => reject(new Error(`executor exited with ${code}`)))
        child.on('message', (m: ExecutorToHost) => {
          if (m.type === 'ready') {
            child.send({
              type: 'invoke',
              id: 'i1',
              operation_id: 'op_data_load_bundle',
              attempt: 1,
              input: { symbol: 'EURUSD', timeframe: '4h' },
              deadline_ms: Date.now() + 60_000,
              storage,
              scratch_dir: dir,
              host: {
                workerId: 'w1',
                workerType: 'ib',
                capabilities: { cores: 1, memory_gb: 1, gpu: false, ib: true, llm: false, slots: 1 },
              },
            })
          } else if (m.type === 'result' || m.type === 'load_error') resolve(m)
        })
      })
      expect(result).toMatchObject({ type: 'result', ok: true, result: { symbol: 'EURUSD', segments: 1, segments_failed: 0 } })
      expect(sim.connections.map((c) => c.clientId)).toEqual([251])
      expect((await loadBars(temp.storage.data, { symbol: 'EURUSD', timeframe: '4h' })).length).toBe(
        (result as { result: { rows_downloaded: number } }).result.rows_downloaded,
      )
    } finally {
      child.removeAllListeners('exit')
      child.kill()
      await sim.close()
    }
  }, 180_000)
})
