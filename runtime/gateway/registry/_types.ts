import type { Readable } from 'node:stream'
import type { AliasRoute, FunctionAlias, FunctionVersion } from '../../protocol/index.ts'

/** A function spec resolved to the exact version that will run. */
export interface ResolvedFunction extends FunctionVersion {
  /** What the caller asked for: `name`, `name@3` or `name@stable`. */
  requested: string
}

export interface PublishMeta {
  source_commit?: string | null
  /** The function name the upload was made for (the URL's :name); 422 if the bundle says otherwise. */
  name?: string
  /** Bytes the archive may have; 413 BUNDLE_TOO_LARGE past it, counted as it streams. Default 512 MiB. */
  maxBytes?: number
}

/** The gateway's record of function versions and aliases (owned by runtime/gateway/functions). */
export interface FunctionRegistry {
  /** `name` (= latest), `name@<version>` or `name@<alias>`; weighted aliases pick a version at random by weight. 404 KtrdrError if unknown. */
  resolve(spec: string): Promise<ResolvedFunction>
  /**
   * Store a bundle archive and record a new immutable version; moves `latest`. A stream (an upload)
   * is hashed while it is written to disk and never held whole in memory; bytes take the same path.
   */
  publish(archive: Uint8Array | Readable, meta?: PublishMeta): Promise<FunctionVersion & { created: boolean }>
  /** One exact version, or null. */
  getVersion(name: string, version: number): Promise<FunctionVersion | null>
  listFunctions(): Promise<Array<{ name: string; latest: number | null; versions: number; aliases: FunctionAlias[] }>>
  getFunction(name: string): Promise<{ name: string; versions: FunctionVersion[]; aliases: FunctionAlias[] } | null>
  setAlias(name: string, alias: string, routes: AliasRoute[]): Promise<FunctionAlias>
  rollback(name: string): Promise<FunctionAlias>
  /** Delete versions not referenced by an alias or a live operation; returns what was deleted. */
  collectGarbage(policy: { keepLast: number; isInUse(sha256: string): boolean | Promise<boolean> }): Promise<FunctionVersion[]>
}
