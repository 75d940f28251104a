import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, rename, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LlmCapability, WorkerCapabilities } from '../../runtime/protocol/index.ts'
import { resolveLocalPath, type KtrdrStorage } from '../../storage/index.ts'
import { KtrdrError } from '../../runtime/protocol/index.ts'
import { LLM_MODEL_NAME_RE, llmModelKey, llmModelMetaKey } from '../index.ts'
import type { LlmModelRef, LlmRuntimeOptions } from './runtime.ts'

export { LLM_MODEL_NAME_RE, llmModelKey, llmModelMetaKey }

/** `llm/<name>.json` beside a published model. */
export interface LlmModelMeta {
  name: string
  sha256: string
  size_bytes: number
  published_at: string
  source?: string
}

/** sha256 of a file, streamed (a 4.7 GB Q4_K_M model hashes in a few seconds, once per process). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

const verified = new Map<string, string>()

/** sha256 of a file, computed once per (path, size, mtime) in this process. */
async function cachedSha(path: string): Promise<string> {
  const s = await stat(path)
  const key = `${path}\0${s.size}\0${s.mtimeMs}`
  let sha = verified.get(key)
  if (!sha) verified.set(key, (sha = await sha256File(path)))
  return sha
}

/** The host's llm capability when it serves a configured model. */
export function hostLlm(capabilities: WorkerCapabilities): LlmCapability | null {
  return typeof capabilities.llm === 'object' && capabilities.llm !== null ? capabilities.llm : null
}

/** How to run models on this host: its advertised settings, or defaults for a bare `llm` host. */
export function llmRuntimeOptions(capabilities: WorkerCapabilities): LlmRuntimeOptions {
  const llm = hostLlm(capabilities)
  return {
    threads: llm?.threads ?? Math.max(1, (capabilities.cores || 2) - 1),
    gpuLayers: llm?.gpu_layers ?? (capabilities.gpu ? 'auto' : 0),
    contextSize: llm?.context_size ?? 4096,
  }
}

function unknownModel(name: string, why: string): never {
  throw new KtrdrError({
    code: 'LLM_MODEL_UNKNOWN',
    message: `model "${name}" ${why}`,
    details: { field: 'model' },
  })
}

/**
 * Which GGUF a call uses: `name` (a model in the `models` mount, `llm/<name>.gguf`, or the host's
 * own model by its id), or the host's configured model when no name is given. The file's sha256 is
 * checked against the one recorded at publish (mount) or advertised by the host; a mismatch is
 * refused rather than run, since results record which weights produced them.
 */
export async function resolveLlmModel(
  name: string | undefined | null,
  ctx: { storage: KtrdrStorage; capabilities: WorkerCapabilities },
): Promise<LlmModelRef> {
  const own = hostLlm(ctx.capabilities)
  if (!name || (own && name === own.model)) {
    if (!own)
      unknownModel(
        name ?? '(none)',
        'was not given and this host serves none: pass a model published to the models mount (ktrdr llm publish) or start the host with --llm-model',
      )
    const sha = await cachedSha(own.path).catch((error: Error) =>
      unknownModel(own.model, `is configured on this host at ${own.path} but cannot be read: ${error.message}`),
    )
    if (sha !== own.sha256)
      unknownModel(own.model, `changed on disk since the host started (sha256 ${sha} ≠ ${own.sha256}): restart the host`)
    return { id: own.model, path: own.path, sha256: own.sha256 }
  }
  if (!LLM_MODEL_NAME_RE.test(name)) unknownModel(name, 'is not a model name (letters, digits, ".", "_", "-")')
  const meta = (await ctx.storage.models.getItem(llmModelMetaKey(name))) as LlmModelMeta | null
  if (!meta || typeof meta.sha256 !== 'string')
    unknownModel(name, `is not in the models mount (${llmModelMetaKey(name)} missing): publish it with ktrdr llm publish`)
  const local = resolveLocalPath(ctx.storage.options, 'models', llmModelKey(name))
  let path: string
  if (local) path = local
  else {
    // Not on a shared filesystem: copy it next to the process once per sha256.
    const dir = join(tmpdir(), 'ktrdr-llm')
    path = join(dir, `${meta.sha256}.gguf`)
    const exists = await stat(path).then(
      () => true,
      () => false,
    )
    if (!exists) {
      const bytes = (await ctx.storage.models.getItemRaw(llmModelKey(name))) as Uint8Array | null
      if (!bytes) unknownModel(name, `has metadata but no file ${llmModelKey(name)} in the models mount`)
      await mkdir(dir, { recursive: true })
      const tmp = `${path}.tmp-${process.pid}`
      await writeFile(tmp, bytes)
      await rename(tmp, path)
    }
  }
  const sha = await cachedSha(path).catch((error: Error) => unknownModel(name, `cannot be read (${error.message})`))
  if (sha !== meta.sha256)
    throw new KtrdrError({
      code: 'LLM_MODEL_CORRUPT',
      message: `model "${name}" does not match its recorded sha256 (${sha} ≠ ${meta.sha256}): publish it again`,
      details: { field: 'model' },
    })
  return { id: name, path, sha256: sha }
}
