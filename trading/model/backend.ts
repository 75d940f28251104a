import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import { createKtrdrError } from '../index.ts'
import { tf } from './tf.ts'

/** Backends in order of preference; `tensorflow` is the native one registered by tfjs-node(-gpu). */
export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu'

export interface TfBackendOptions {
  /** Try tfjs-node-gpu first (default true). False skips the GPU package even when present. */
  preferGpu?: boolean
  /** Force a backend (env KTRDR_TF_BACKEND): tensorflow, wasm or cpu. Fails if it cannot start. */
  force?: TfBackendName
}

export interface TfBackendInfo {
  /** The tfjs backend name in use: tensorflow, wasm or cpu. */
  backend: TfBackendName
  /** Which package provided it, e.g. @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-backend-wasm. */
  package: string
  gpu: boolean
  /** Versions of the packages involved, recorded in model metadata. */
  versions: Record<string, string>
  /** Why more preferred backends were skipped (package missing, no CUDA device, …). */
  skipped: string[]
  /**
   * The part of `skipped` that is a fault: a backend package that is installed but did not start
   * (another tfjs-core copy, missing .wasm files, an error while starting). An optional package that
   * is not installed, or the GPU package without a device, is the usual case, not listed here.
   */
  failed: string[]
}

// Non-literal specifiers keep bundlers (Nitro/rollup) from trying to resolve the optional native
// packages, which are usually not installed: they stay runtime imports that may fail and are
// caught. The wasm backend is a dependency, imported with a literal specifier so bundle tracing
// copies it (and its .wasm files) into the bundle.
const NODE_GPU = '@tensorflow/tfjs-node-gpu'
const NODE_CPU = '@tensorflow/tfjs-node'
const WASM = '@tensorflow/tfjs-backend-wasm'
const importWasm = () => import('@tensorflow/tfjs-backend-wasm')

/** A backend package that resolved its own copy of tfjs-core registers into another engine. */
const SPLIT_ENGINE =
  'loaded, but it registered into another copy of @tensorflow/tfjs-core: install it next to @tensorflow/tfjs with the same version (bundles must trace @tensorflow/* instead of inlining them)'

const require_ = createRequire(import.meta.url)
let selected: Promise<TfBackendInfo> | undefined
let selectedKey = ''

/** True when the machine exposes an NVIDIA device to this process (driver loaded, device node present). */
export function hasCudaDevice(): boolean {
  if (process.env.CUDA_VISIBLE_DEVICES === '' || process.env.CUDA_VISIBLE_DEVICES === '-1') return false
  try {
    if (existsSync('/proc/driver/nvidia/gpus') && readdirSync('/proc/driver/nvidia/gpus').length > 0) return true
  } catch {}
  return existsSync('/dev/nvidia0')
}

export function packageVersion(name: string): string | undefined {
  try {
    return (require_(`${name}/package.json`) as { version: string }).version
  } catch {
    return undefined
  }
}

/** Why `spec` could not be imported (undefined: it was), and whether that is only its absence. */
async function tryImport(spec: string): Promise<{ reason: string; absent: boolean } | undefined> {
  try {
    await (spec === WASM ? importWasm() : import(/* @vite-ignore */ spec))
    return undefined
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
    // "Cannot find package '<spec>'" is the optional package not installed; a dependency of an
    // installed one missing names that dependency instead, and is a fault.
    const code = (error as NodeJS.ErrnoException | null)?.code
    const absent = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && reason.includes(`'${spec}'`)
    return { reason, absent }
  }
}

const WASM_FILE = 'tfjs-backend-wasm-simd.wasm'

/**
 * The wasm backend reads its .wasm binaries from next to its own JS. Bundles that trace only the
 * JS lack them: then use KTRDR_TFJS_WASM_DIR, or the copy installed where the process runs.
 * Returns why wasm cannot start, or undefined when it can.
 */
async function locateWasmBinaries(): Promise<string | undefined> {
  const dirOf = (req: NodeRequire) => {
    try {
      return join(dirname(req.resolve(`${WASM}/package.json`)), 'dist')
    } catch {
      return undefined
    }
  }
  const own = dirOf(require_)
  if (own && existsSync(join(own, WASM_FILE))) return undefined
  const candidates = [process.env.KTRDR_TFJS_WASM_DIR, dirOf(createRequire(join(process.cwd(), 'noop.js')))].filter((d): d is string => !!d)
  const found = candidates.find((d) => existsSync(join(d, WASM_FILE)))
  if (!found)
    return `${WASM_FILE} is missing next to the package${own ? ` (${own})` : ''}: set KTRDR_TFJS_WASM_DIR to a folder holding the .wasm files`
  const mod = (await importWasm()) as { setWasmPaths(prefix: string): void }
  mod.setWasmPaths(found.endsWith('/') ? found : `${found}/`)
  return undefined
}

export function resolveTfBackendOptions(
  options: TfBackendOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Required<Pick<TfBackendOptions, 'preferGpu'>> & TfBackendOptions {
  const forced = (options.force ?? env.KTRDR_TF_BACKEND) as TfBackendName | undefined
  if (forced && !['tensorflow', 'wasm', 'cpu'].includes(forced)) {
    throw createKtrdrError('CONFIG_INVALID', `KTRDR_TF_BACKEND="${forced}" is not a backend: use tensorflow, wasm or cpu`)
  }
  const preferGpu = options.preferGpu ?? !['0', 'false'].includes(env.KTRDR_PREFER_GPU ?? '')
  return { preferGpu, force: forced }
}

async function select(options: ReturnType<typeof resolveTfBackendOptions>): Promise<TfBackendInfo> {
  const skipped: string[] = []
  const failed: string[] = []
  const fault = (entry: string) => {
    skipped.push(entry)
    failed.push(entry)
  }
  /** A package that did not import: only skipped when it is not installed, a fault otherwise. */
  const notImported = (pkg: string, missing: { reason: string; absent: boolean }) =>
    missing.absent ? skipped.push(`${pkg}: ${missing.reason}`) : fault(`${pkg}: ${missing.reason}`)
  const versions: Record<string, string> = { '@tensorflow/tfjs': tf.version.tfjs }
  const want = (name: TfBackendName) => !options.force || options.force === name
  const activate = async (backend: TfBackendName, pkg: string, gpu: boolean): Promise<TfBackendInfo | undefined> => {
    try {
      if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend("${backend}") returned false`)
      await tf.ready()
    } catch (error) {
      fault(`${pkg}: ${error instanceof Error ? error.message : String(error)}`)
      return undefined
    }
    const v = packageVersion(pkg)
    if (v) versions[pkg] = v
    return { backend, package: pkg, gpu, versions, skipped, failed }
  }

  if (want('tensorflow')) {
    if (options.preferGpu && hasCudaDevice()) {
      const missing = await tryImport(NODE_GPU)
      if (!missing && !tf.engine().registryFactory.tensorflow) fault(`${NODE_GPU}: ${SPLIT_ENGINE}`)
      else if (!missing) {
        const info = await activate('tensorflow', NODE_GPU, true)
        if (info) return info
      } else notImported(NODE_GPU, missing)
    } else skipped.push(`${NODE_GPU}: ${options.preferGpu ? 'no CUDA device' : 'GPU not preferred'}`)
    if (!tf.engine().registryFactory.tensorflow) {
      const missing = await tryImport(NODE_CPU)
      if (missing) notImported(NODE_CPU, missing)
      else if (!tf.engine().registryFactory.tensorflow) fault(`${NODE_CPU}: ${SPLIT_ENGINE}`)
    }
    if (tf.engine().registryFactory.tensorflow) {
      const info = await activate('tensorflow', NODE_CPU, false)
      if (info) return info
    }
  }
  if (want('wasm')) {
    const missing = await tryImport(WASM)
    const unusable = missing ? undefined : await locateWasmBinaries()
    // A dependency of ours: absent or not, a wasm that cannot start is a fault.
    if (missing || unusable) fault(`${WASM}: ${missing?.reason ?? unusable}`)
    else if (!tf.engine().registryFactory.wasm) fault(`${WASM}: ${SPLIT_ENGINE}`)
    else {
      const info = await activate('wasm', WASM, false)
      if (info) return info
    }
  }
  if (want('cpu')) {
    const info = await activate('cpu', '@tensorflow/tfjs-backend-cpu', false)
    if (info) return info
  }
  throw new Error(`No TensorFlow.js backend could start${options.force ? ` (forced "${options.force}")` : ''}: ${skipped.join('; ')}`)
}

/**
 * Selects and activates the TensorFlow.js backend once per process: tfjs-node-gpu when installed
 * and a CUDA device is present, else tfjs-node when installed, else wasm, else the pure-JS cpu
 * backend. Call before creating any tensor. Calling again with other options switches backend.
 */
export function useTfBackend(options: TfBackendOptions = {}): Promise<TfBackendInfo> {
  const resolved = resolveTfBackendOptions(options)
  const key = `${resolved.force ?? ''}|${resolved.preferGpu}`
  if (!selected || key !== selectedKey) {
    selectedKey = key
    selected = select(resolved)
    selected.catch(() => {
      selected = undefined
    })
  }
  return selected
}
