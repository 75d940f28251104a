import type { AliasRoute, FunctionAlias, FunctionVersion } from '../../protocol/function.ts'

/** A function spec resolved to the exact version that will run. */
export interface ResolvedFunction extends FunctionVersion {
  /** What the caller asked for: `name`, `name@3` or `name@stable`. */
  requested: string
}

/** The gateway's record of function versions and aliases (owned by runtime/gateway/functions). */
export interface FunctionRegistry {
  /** `name` (= latest), `name@<version>` or `name@<alias>`; weighted aliases pick a version at random by weight. 404 KtrdrError if unknown. */
  resolve(spec: string): Promise<ResolvedFunction>
  /** Store an uploaded bundle archive and record a new immutable version; moves `latest`. */
  publish(archive: Uint8Array, meta?: { source_commit?: string | null }): Promise<FunctionVersion>
  listFunctions(): Promise<Array<{ name: string; latest: number | null; versions: number; aliases: FunctionAlias[] }>>
  getFunction(name: string): Promise<{ name: string; versions: FunctionVersion[]; aliases: FunctionAlias[] } | null>
  setAlias(name: string, alias: string, routes: AliasRoute[]): Promise<FunctionAlias>
  rollback(name: string): Promise<FunctionAlias>
  /** Delete versions not referenced by an alias or a live operation; returns what was deleted. */
  collectGarbage(policy: { keepLast: number; isInUse(sha256: string): boolean | Promise<boolean> }): Promise<FunctionVersion[]>
}
