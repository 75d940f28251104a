/** A function's name: lowercase letters, digits and dashes, starting with a letter (the one rule, everywhere). */
export const FUNCTION_NAME_RE = /^[a-z][a-z0-9-]*$/

/** What a function asks of the host it runs on. */
export interface FunctionPlacement {
  worker_types?: string[]
  requires?: { gpu?: boolean; ib?: boolean; llm?: boolean; min_memory_gb?: number; labels?: string[] }
  prefers?: { gpu?: boolean }
}

/** manifest.json at the root of every bundle archive. */
export interface FunctionManifest {
  name: string
  description: string
  operation_type: string
  input_schema: Record<string, unknown>
  placement: FunctionPlacement
  timeout_seconds: number
  max_attempts: number
  /**
   * Invocations one executor process may run at once (1 when missing: each invocation has its
   * process to itself). Declared by functions whose invocations are safe to share a process.
   */
  concurrency?: number
  /** Storage mounts the function may use (mount → access and key prefixes as unstorage base keys); missing in bundles built before declarations: no storage. */
  storage?: Partial<
    Record<
      'data' | 'models' | 'bundles' | 'results' | 'strategies' | 'checkpoints' | 'memory',
      { access: 'read' | 'write'; prefixes: string[] }
    >
  >
  /** Host environment variables passed through to the function (never KTRDR_*). */
  env?: string[]
  /** Path of the executor entry inside the unpacked bundle. */
  entry: string
  built_at: string
  source_commit?: string | null
  /**
   * sha256 of what the bundle was built from (runtime/bundler/_sources.ts): deploys compare it
   * with their sources' to skip building unchanged code. Missing in bundles built before it.
   */
  source_sha256?: string | null
  node: string
}

export interface FunctionVersion {
  name: string
  version: number
  sha256: string
  size: number
  bundle_key: string
  manifest: FunctionManifest
  created_at: string
  source_commit: string | null
}

export interface AliasRoute {
  version: number
  weight: number
}
export interface FunctionAlias {
  name: string
  alias: string
  routes: AliasRoute[]
  updated_at: string
}
