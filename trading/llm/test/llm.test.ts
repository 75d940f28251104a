import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKtrdrStorage, type KtrdrStorage } from '../../../storage/index.ts'
import type { WorkerCapabilities } from '../../../runtime/protocol/index.ts'
import {
  encodeTinyLlamaGguf,
  generateJson,
  loadedLlmCount,
  loadLlm,
  llmModelKey,
  llmModelMetaKey,
  resolveLlmModel,
  sha256File,
  unloadAllLlms,
  writeTinyLlamaGguf,
  type LlmModelRef,
} from '../index.ts'

let dir: string
let ref: LlmModelRef
let storage: KtrdrStorage
const runtime = { threads: 1, gpuLayers: 0 as const, contextSize: 1024 }
const caps = (llm: WorkerCapabilities['llm']): WorkerCapabilities => ({ cores: 2, memory_gb: 4, gpu: false, ib: false, llm, slots: 1 })

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktrdr-llm-'))
  const path = join(dir, 'tiny.gguf')
  await writeTinyLlamaGguf(path, { seed: 7 })
  ref = { id: 'tiny', path, sha256: await sha256File(path) }
  storage = await createKtrdrStorage({ root: join(dir, 'store') })
})
afterAll(async () => {
  await unloadAllLlms()
  await storage.dispose()
  await rm(dir, { recursive: true, force: true })
})

describe('tiny GGUF', () => {
  it('is deterministic per seed and differs across seeds', () => {
    expect(Buffer.from(encodeTinyLlamaGguf({ seed: 3 })).equals(Buffer.from(encodeTinyLlamaGguf({ seed: 3 })))).toBe(true)
    expect(Buffer.from(encodeTinyLlamaGguf({ seed: 3 })).equals(Buffer.from(encodeTinyLlamaGguf({ seed: 4 })))).toBe(false)
    expect(Buffer.from(encodeTinyLlamaGguf()).subarray(0, 4).toString('latin1')).toBe('GGUF')
  })

  it('loads in llama.cpp, tokenizes into bytes and stays loaded (warm) for the next call', async () => {
    const first = await loadLlm(ref, runtime)
    expect(first.warm).toBe(false)
    expect(first.model.tokenize('{"a": 1}').length).toBeGreaterThanOrEqual(8)
    const second = await loadLlm(ref, runtime)
    expect(second.warm).toBe(true)
    expect(second.loadMs).toBe(0)
    expect(second.model).toBe(first.model)
    expect(loadedLlmCount()).toBe(1)
  })
})

describe('generateJson', () => {
  const schema = {
    type: 'object',
    properties: {
      verdict: { enum: ['strong_signal', 'weak_signal', 'no_signal', 'overfit'] },
      count: { enum: [1, 2, 3] },
      notes: { type: 'array', items: { type: 'string', maxLength: 20 }, maxItems: 2 },
    },
    required: ['verdict', 'count', 'notes'],
  } as const

  it('random weights still produce schema-valid JSON under the grammar, reproducibly per seed', async () => {
    const run = (seed: number) =>
      generateJson({
        model: ref,
        runtime,
        schema,
        system: 'You answer in JSON.',
        prompt: 'Judge this.',
        seed,
        temperature: 1,
        maxTokens: 200,
      })
    const a = await run(11)
    expect(a.ok, a.ok ? '' : a.error).toBe(true)
    if (!a.ok) return
    const value = a.value as { verdict: string; count: number; notes: string[] }
    expect(['strong_signal', 'weak_signal', 'no_signal', 'overfit']).toContain(value.verdict)
    expect([1, 2, 3]).toContain(value.count)
    expect(value.notes.length).toBeLessThanOrEqual(2)
    expect(a.stats).toMatchObject({ model: 'tiny', model_sha256: ref.sha256, warm: true })
    expect(a.stats.tokens_in).toBeGreaterThan(5)
    expect(a.stats.tokens_out).toBeGreaterThan(5)
    expect(a.stats.tokens_per_second).toBeGreaterThan(0)
    expect((await run(11)).text).toBe(a.text)
  })

  it('without attention the output depends on the seed alone, not on the prompt', async () => {
    const write = async (attention: boolean) => {
      const path = join(dir, `tiny-attention-${attention}.gguf`)
      await writeTinyLlamaGguf(path, { seed: 7, attention })
      return { id: `tiny-${attention}`, path, sha256: await sha256File(path) }
    }
    // Per seed: does another prompt change what the model writes?
    const moved = async (model: LlmModelRef) => {
      const out: boolean[] = []
      for (const seed of [1, 2, 3, 4]) {
        const text = async (prompt: string) =>
          (await generateJson({ model, runtime, schema, system: 'You answer in JSON.', prompt, seed, temperature: 2, maxTokens: 200 })).text
        out.push((await text('Judge this.')) !== (await text('Something else entirely, exp_20260101_000000_00000000.')))
      }
      return out
    }
    expect(await moved(await write(false))).toEqual([false, false, false, false])
    const full = await write(true)
    expect(full.sha256).toBe(ref.sha256) // the default is the model every other test uses
    expect(await moved(full)).toContain(true)
  })

  it('output cut off at maxTokens is reported as not valid, with the reason (the caller retries)', async () => {
    const r = await generateJson({ model: ref, runtime, schema, system: 's', prompt: 'p', seed: 1, maxTokens: 3 })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toMatch(/not valid JSON for the schema/)
  })

  it('stops when the signal aborts', async () => {
    const controller = new AbortController()
    controller.abort(new Error('cancelled by test'))
    await expect(
      generateJson({ model: ref, runtime, schema, system: 's', prompt: 'p', signal: controller.signal, maxTokens: 500 }),
    ).rejects.toThrow(/cancelled by test|abort/i)
  })
})

describe('resolveLlmModel', () => {
  it("uses the host's own model, or a published one from the models mount with its sha256 checked", async () => {
    const own = caps({ model: 'tiny', sha256: ref.sha256, path: ref.path, size_bytes: 1, context_size: 1024, gpu_layers: 0, threads: 1 })
    expect(await resolveLlmModel(undefined, { storage, capabilities: own })).toEqual(ref)
    expect(await resolveLlmModel('tiny', { storage, capabilities: own })).toEqual(ref)

    const bytes = encodeTinyLlamaGguf({ seed: 9 })
    await storage.models.setItemRaw(llmModelKey('other'), bytes)
    const sha = await sha256File(join(dir, 'store', 'models', 'llm', 'other.gguf'))
    await storage.models.setItem(llmModelMetaKey('other'), { name: 'other', sha256: sha, size_bytes: bytes.length, published_at: 'x' })
    expect(await resolveLlmModel('other', { storage, capabilities: caps(true) })).toMatchObject({ id: 'other', sha256: sha })

    await expect(resolveLlmModel('nope', { storage, capabilities: caps(true) })).rejects.toMatchObject({
      statusCode: 422,
      code: 'LLM_MODEL_UNKNOWN',
      details: { field: 'model' },
    })
    await expect(resolveLlmModel(undefined, { storage, capabilities: caps(true) })).rejects.toThrow(/serves none/)
    await storage.models.setItem(llmModelMetaKey('other'), { name: 'other', sha256: 'f'.repeat(64), size_bytes: 1, published_at: 'x' })
    await expect(resolveLlmModel('other', { storage, capabilities: caps(true) })).rejects.toMatchObject({ code: 'LLM_MODEL_CORRUPT' })
  })
})
