// Design generation with a local LLM: first-token latency and tokens/s with the model cold (the
// first call in a process: llama.cpp binding and model load included) against warm (the same
// executor's next calls: nothing is reloaded). The model is the generated tiny GGUF (no weights can
// be downloaded here), so absolute speeds say nothing about a 7–8B model; the cold/warm ratio and
// "warm does not reload" do.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BenchSection } from './_types.ts'
import { designSchema } from '../trading/index.ts'
import { generateJson, loadedLlmCount, sha256File, unloadAllLlms, writeTinyLlamaGguf, type GenerationStats } from '../trading/llm/index.ts'

const WARM_RUNS = 5

export default async function run(): Promise<BenchSection> {
  const dir = await mkdtemp(join(tmpdir(), 'ktrdr-bench-llm-'))
  try {
    const path = join(dir, 'tiny.gguf')
    await writeTinyLlamaGguf(path, { seed: 3 })
    const model = { id: 'tiny', path, sha256: await sha256File(path) }
    const schema = designSchema({ markets: ['EURUSD 1h', 'AAPL 1d'] })
    const call = async (seed: number) => {
      const started = performance.now()
      const out = await generateJson({
        model,
        runtime: { threads: 1, gpuLayers: 0, contextSize: 2048 },
        schema,
        system: 'You design trading strategies. Answer in JSON.',
        prompt: 'Brief: momentum on EURUSD hourly.',
        seed,
        temperature: 0.8,
        maxTokens: 600,
      })
      return { stats: out.stats, wallMs: performance.now() - started }
    }
    const cold = await call(1)
    const warm: Array<{ stats: GenerationStats; wallMs: number }> = []
    for (let i = 0; i < WARM_RUNS; i++) warm.push(await call(2 + i))
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    const warmFirst = median(warm.map((w) => w.stats.first_token_ms))
    const warmTps = median(warm.map((w) => w.stats.tokens_per_second))
    if (warm.some((w) => w.stats.load_ms !== 0 || !w.stats.warm) || loadedLlmCount() !== 1)
      throw new Error('a warm call reloaded the model')
    return {
      title: 'Local LLM: design generation, cold vs warm (tiny generated GGUF, 1 thread)',
      rows: [
        {
          case: 'cold (first call in the process)',
          'first token ms': Math.round(cold.stats.first_token_ms),
          'load ms': Math.round(cold.stats.load_ms),
          'tokens/s': cold.stats.tokens_per_second,
          'tokens out': cold.stats.tokens_out,
        },
        {
          case: `warm (median of ${WARM_RUNS})`,
          'first token ms': Math.round(warmFirst),
          'load ms': 0,
          'tokens/s': warmTps,
          'tokens out': median(warm.map((w) => w.stats.tokens_out)),
        },
        { case: 'cold / warm first-token latency', 'first token ms': `${(cold.stats.first_token_ms / warmFirst).toFixed(0)}×` },
      ],
      notes: [
        'Warm calls reuse the loaded model and context (trading/llm/runtime.ts): load ms 0, one model in the process.',
        'Cold includes node-llama-cpp binding start-up (getLlama, a few seconds here) and the model load; an executor pays it once.',
      ],
    }
  } finally {
    await unloadAllLlms()
    await rm(dir, { recursive: true, force: true })
  }
}
