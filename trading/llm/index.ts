// Third entry of the trading core: local LLMs through node-llama-cpp (warm model cache, generation
// under a JSON-schema grammar, model resolution from the models mount or the host's own file) and
// the tiny GGUF writer tests and CI use instead of downloaded weights. Kept apart from
// trading/index.ts so that nothing else loads the llama.cpp binding.
export { encodeTinyLlamaGguf, tinyVocabulary, writeTinyLlamaGguf, type TinyGgufOptions } from './gguf.ts'
export {
  jsonGrammar,
  loadedLlmCount,
  loadLlm,
  unloadAllLlms,
  useLlama,
  type LlmModelRef,
  type LlmRuntimeOptions,
  type LoadedLlm,
} from './runtime.ts'
export { LLM_SEED_MAX, randomLlmSeed } from '../index.ts'
export { generateJson, type GenerateJsonOptions, type GenerateJsonResult, type GenerationStats } from './generate.ts'
export {
  hostLlm,
  llmModelKey,
  llmModelMetaKey,
  llmRuntimeOptions,
  LLM_MODEL_NAME_RE,
  resolveLlmModel,
  sha256File,
  type LlmModelMeta,
} from './model-ref.ts'
