import { copyFile, mkdir, rename, stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { defineCommand } from 'citty'
import { guard, homeArg, intArg } from '../../runtime/cli/index.ts'
import { createKtrdrStorage, resolveLocalPath } from '../../storage/index.ts'
import {
  LLM_MODEL_NAME_RE,
  llmModelKey,
  llmModelMetaKey,
  sha256File,
  writeTinyLlamaGguf,
  type LlmModelMeta,
} from '../../trading/llm/index.ts'

const makeTestModel = defineCommand({
  meta: {
    name: 'make-test-model',
    description:
      'Write a tiny random-weight llama GGUF (2 layers, width 64, byte vocabulary) for tests and demos: it loads and generates under a grammar, it knows nothing',
  },
  args: {
    file: { type: 'positional', required: true, description: 'Where to write the .gguf' },
    seed: { type: 'string', description: 'Seed of the weights (default 1)' },
  },
  run: ({ args }) =>
    guard(async () => {
      const size = await writeTinyLlamaGguf(args.file, { seed: intArg('seed', args.seed) ?? 1 })
      console.log(`Wrote ${args.file} (${(size / 1024).toFixed(0)} KB, sha256 ${await sha256File(args.file)})`)
    }),
})

const publish = defineCommand({
  meta: {
    name: 'publish',
    description:
      'Copy a GGUF into the models mount as llm/<name>.gguf with its sha256 in llm/<name>.json (design/assess take it as "model")',
  },
  args: {
    file: { type: 'positional', required: true, description: 'The .gguf file' },
    name: { type: 'string', description: 'Model name (default: the file name without .gguf)' },
    home: homeArg,
  },
  run: ({ args }) =>
    guard(async () => {
      const name = args.name ?? basename(args.file).replace(/\.gguf$/i, '')
      if (!LLM_MODEL_NAME_RE.test(name)) throw new Error(`--name "${name}" must be letters, digits, ".", "_" or "-" (at most 128)`)
      const info = await stat(args.file)
      const sha256 = await sha256File(args.file)
      const storage = await createKtrdrStorage(args.home ? { root: args.home } : {})
      try {
        const local = resolveLocalPath(storage.options, 'models', llmModelKey(name))
        // A multi-GB file is copied on disk (NFS included), never held in memory; other drivers get the bytes.
        if (local) {
          await mkdir(dirname(local), { recursive: true })
          const tmp = `${local}.tmp-${process.pid}`
          await copyFile(args.file, tmp)
          await rename(tmp, local)
        } else {
          const { readFile } = await import('node:fs/promises')
          await storage.models.setItemRaw(llmModelKey(name), await readFile(args.file))
        }
        const meta: LlmModelMeta = {
          name,
          sha256,
          size_bytes: info.size,
          published_at: new Date().toISOString(),
          source: basename(args.file),
        }
        await storage.models.setItem(llmModelMetaKey(name), meta)
        console.log(`Published ${name}: models/${llmModelKey(name)} (${(info.size / 1024 ** 2).toFixed(1)} MB, sha256 ${sha256})`)
      } finally {
        await storage.dispose()
      }
    }),
})

export default defineCommand({
  meta: { name: 'llm', description: 'Local LLM models for the design and assess functions' },
  subCommands: { 'make-test-model': makeTestModel, publish },
})
