import type { GbnfJsonSchema, Llama, LlamaContext, LlamaJsonSchemaGrammar, LlamaModel } from 'node-llama-cpp'
import { KtrdrError } from '../../runtime/protocol/index.ts'

/** Which GGUF to run: a file on this machine and the sha256 it must have. */
export interface LlmModelRef {
  /** Short id shown in results and memory (the file's base name without `.gguf`, or `llm/<name>`). */
  id: string
  path: string
  sha256: string
}

/** How to run it: from the host's options (`ktrdr host --llm-*`, KTRDR_LLM_*). */
export interface LlmRuntimeOptions {
  /**
   * CPU threads for evaluation. On a 2-core machine llama.cpp's default (all cores) made
   * generation about 250× slower while anything else ran; cores − 1 (at least 1) is the default.
   */
  threads: number
  /** Layers offloaded to the GPU: 'auto' (as many as fit) on GPU hosts, 0 on CPU hosts. */
  gpuLayers: 'auto' | number
  contextSize: number
}

export interface LoadedLlm {
  ref: LlmModelRef
  model: LlamaModel
  context: LlamaContext
  /** ms the load took (0 when this call found it warm). */
  loadMs: number
  /** true: already loaded in this process (a warm executor); nothing was read from disk. */
  warm: boolean
}

let llamaPromise: Promise<Llama> | null = null
const loaded = new Map<string, Promise<Omit<LoadedLlm, 'warm' | 'loadMs'> & { loadMs: number }>>()
const grammars = new WeakMap<Llama, Map<string, Promise<LlamaJsonSchemaGrammar<any>>>>()

/**
 * The llama.cpp binding, once per process. `build: 'never'`: the prebuilt binaries come from
 * node-llama-cpp's npm packages; a machine without a matching one fails here with a clear error
 * instead of trying to download or compile llama.cpp.
 */
export function useLlama(gpu: boolean): Promise<Llama> {
  llamaPromise ??= import('node-llama-cpp').then(async ({ getLlama, LlamaLogLevel }) =>
    getLlama({ gpu: gpu ? 'auto' : false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false }),
  )
  return llamaPromise.catch((error: Error) => {
    llamaPromise = null
    throw new KtrdrError({
      code: 'LLM_UNAVAILABLE',
      message: `node-llama-cpp could not load a llama.cpp binary on this host: ${error.message}`,
    })
  })
}

/**
 * The model and one context, loaded once per (path, sha256, gpu layers, context size) and kept for
 * the life of the process: an executor stays warm between invocations, so the second call of a
 * multi-GB model costs nothing (bench/llm.bench.ts measures both).
 */
export async function loadLlm(ref: LlmModelRef, options: LlmRuntimeOptions): Promise<LoadedLlm> {
  const key = `${ref.path}\0${ref.sha256}\0${options.gpuLayers}\0${options.contextSize}`
  const existing = loaded.get(key)
  if (existing) return { ...(await existing), loadMs: 0, warm: true }
  const loading = (async () => {
    const started = performance.now()
    const llama = await useLlama(options.gpuLayers !== 0)
    const model = await llama.loadModel({ modelPath: ref.path, gpuLayers: options.gpuLayers }).catch((error: Error) => {
      throw new KtrdrError({
        code: 'LLM_MODEL_INVALID',
        message: `Model ${ref.id} (${ref.path}) could not be loaded: ${error.message}`,
      })
    })
    const context = await model.createContext({
      contextSize: { max: options.contextSize },
      threads: Math.max(1, options.threads),
    })
    return { ref, model, context, loadMs: performance.now() - started }
  })()
  loaded.set(key, loading)
  try {
    return { ...(await loading), warm: false }
  } catch (error) {
    loaded.delete(key)
    throw error
  }
}

/** How many models this process holds (tests: a warm call must not load a second copy). */
export function loadedLlmCount(): number {
  return loaded.size
}

/** Frees every loaded model (tests, benches; executors simply exit). */
export async function unloadAllLlms(): Promise<void> {
  const all = [...loaded.values()]
  loaded.clear()
  for (const p of all) {
    const m = await p.catch(() => null)
    if (!m) continue
    await m.context.dispose()
    await m.model.dispose()
  }
}

/** A JSON-schema grammar, compiled once per schema and binding. */
export async function jsonGrammar(llama: Llama, schema: GbnfJsonSchema): Promise<LlamaJsonSchemaGrammar<any>> {
  let byText = grammars.get(llama)
  if (!byText) grammars.set(llama, (byText = new Map()))
  const text = JSON.stringify(schema)
  let grammar = byText.get(text)
  if (!grammar) {
    grammar = llama.createGrammarForJsonSchema(schema as never) as Promise<LlamaJsonSchemaGrammar<any>>
    byText.set(text, grammar)
  }
  return grammar
}
