import { promises as fsp } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname } from 'node:path'
import { Readable } from 'node:stream'
import { assertStorageKey, resolveLocalPath, type KtrdrStorage } from '../../../storage/index.ts'
import type { AliasRoute, FunctionAlias, FunctionManifest, FunctionVersion } from '../../protocol/index.ts'
import { KtrdrError } from '../../protocol/index.ts'
import { readArchiveManifest } from '../../protocol/index.ts'
import type { GatewayDatabase } from '../_db.ts'
import { ensureRegistrySchema } from './_schema.ts'
import { spoolUpload } from './_spool.ts'
import { readArchiveEntries } from './_tar-entries.ts'
import type { FunctionRegistry, PublishMeta, ResolvedFunction } from './_types.ts'
import { FUNCTION_NAME_RE } from '../../protocol/index.ts'

export interface FunctionRegistryOptions {
  database: GatewayDatabase
  storage: KtrdrStorage
  /** Called after a publish (new version) so the gateway can tell hosts to prefetch it. */
  notify?: (version: FunctionVersion) => void
  /** Weighted alias picks; injectable for tests. */
  random?: () => number
}

const NAME = FUNCTION_NAME_RE
/** When the caller gives no cap (the CLI publishing a bundle it built): the gateway's default. */
const DEFAULT_MAX_BUNDLE_BYTES = 512 * 1024 * 1024
const ALIAS = /^[a-z][a-z0-9_-]{0,62}$/
export const LATEST = 'latest'

interface VersionRow {
  name: string
  version: number
  sha256: string
  size: number
  bundle_key: string
  manifest: string
  created_at: string
  source_commit: string | null
}
interface AliasRow {
  name: string
  alias: string
  routes: string
  updated_at: string
}

const toVersion = (r: VersionRow): FunctionVersion => ({
  name: r.name,
  version: r.version,
  sha256: r.sha256,
  size: r.size,
  bundle_key: r.bundle_key,
  manifest: JSON.parse(r.manifest) as FunctionManifest,
  created_at: r.created_at,
  source_commit: r.source_commit,
})
const toAlias = (r: AliasRow): FunctionAlias => ({
  name: r.name,
  alias: r.alias,
  routes: JSON.parse(r.routes) as AliasRoute[],
  updated_at: r.updated_at,
})

function notFound(code: string, message: string): KtrdrError {
  return new KtrdrError({ statusCode: 404, code, retryable: false, message })
}

/**
 * Function versions and aliases on the gateway's SQLite. A version is immutable and identified
 * by the sha256 of its archive; the archive lives in the `bundles` mount under `<name>/<sha>.tgz`
 * and is written (atomically) before the row that points at it, so a row never names a missing bundle.
 */
export function createFunctionRegistry(options: FunctionRegistryOptions): FunctionRegistry {
  const { sqlite } = options.database
  ensureRegistrySchema(sqlite)
  const random = options.random ?? Math.random
  const q = {
    version: sqlite.prepare('SELECT * FROM function_versions WHERE name = ? AND version = ?'),
    bySha: sqlite.prepare('SELECT * FROM function_versions WHERE name = ? AND sha256 = ?'),
    versions: sqlite.prepare('SELECT * FROM function_versions WHERE name = ? ORDER BY version DESC'),
    names: sqlite.prepare('SELECT name FROM function_names ORDER BY name'),
    name: sqlite.prepare('SELECT * FROM function_names WHERE name = ?'),
    alias: sqlite.prepare('SELECT * FROM function_aliases WHERE name = ? AND alias = ?'),
    aliases: sqlite.prepare('SELECT * FROM function_aliases WHERE name = ? ORDER BY alias'),
    allAliases: sqlite.prepare('SELECT * FROM function_aliases'),
    bump: sqlite.prepare(`INSERT INTO function_names (name, last_version, created_at) VALUES (?, 1, ?)
      ON CONFLICT(name) DO UPDATE SET last_version = last_version + 1 RETURNING last_version`),
    insert: sqlite.prepare(`INSERT INTO function_versions (name, version, sha256, size, bundle_key, manifest, created_at, source_commit)
      VALUES (@name, @version, @sha256, @size, @bundle_key, @manifest, @created_at, @source_commit)`),
    setAlias: sqlite.prepare(`INSERT INTO function_aliases (name, alias, routes, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(name, alias) DO UPDATE SET routes = excluded.routes, updated_at = excluded.updated_at`),
    deleteVersion: sqlite.prepare('DELETE FROM function_versions WHERE name = ? AND version = ?'),
  }

  // Read-through caches for the invoke hot path (three SQLite reads and a manifest JSON.parse per
  // call otherwise). This registry is the only writer of these tables: versions are immutable and
  // dropped from the cache when garbage-collected, aliases are replaced on every write, names only grow.
  const versionCache = new Map<string, FunctionVersion>()
  const aliasCache = new Map<string, FunctionAlias>()
  const knownNames = new Set<string>()
  function readThrough<R, T>(cache: Map<string, T>, key: string, load: () => R | undefined, map: (row: R) => T): T | null {
    const cached = cache.get(key)
    if (cached) return cached
    const row = load()
    if (!row) return null
    const found = map(row)
    cache.set(key, found)
    return found
  }
  const getVersionSync = (name: string, version: number) =>
    readThrough(versionCache, `${name}@${version}`, () => q.version.get(name, version) as VersionRow | undefined, toVersion)
  const getAlias = (name: string, alias: string) =>
    readThrough(aliasCache, `${name}@${alias}`, () => q.alias.get(name, alias) as AliasRow | undefined, toAlias)
  function assertName(name: string) {
    if (!NAME.test(name))
      throw new KtrdrError({
        statusCode: 400,
        code: 'BAD_REQUEST',
        retryable: false,
        message: `"${name}" is not a function name (lowercase letters, digits, dashes)`,
      })
  }
  function requireName(name: string) {
    if (knownNames.has(name)) return
    assertName(name)
    if (!q.name.get(name))
      throw notFound('FUNCTION_NOT_FOUND', `No function "${name}" has been published: deploy it with \`ktrdr fn deploy ${name}\``)
    knownNames.add(name)
  }
  function writeAlias(name: string, alias: string, routes: AliasRoute[]): FunctionAlias {
    const updated_at = new Date().toISOString()
    q.setAlias.run(name, alias, JSON.stringify(routes), updated_at)
    const written = { name, alias, routes, updated_at }
    aliasCache.delete(`${name}@${alias}`)
    return written
  }
  function pick(alias: FunctionAlias): number {
    const total = alias.routes.reduce((s, r) => s + r.weight, 0)
    let x = random() * total
    for (const route of alias.routes) {
      x -= route.weight
      if (x < 0) return route.version
    }
    return alias.routes[alias.routes.length - 1]!.version
  }

  const publishTx = sqlite.transaction((input: Omit<FunctionVersion, 'version' | 'created_at'>): FunctionVersion & { created: boolean } => {
    const existing = q.bySha.get(input.name, input.sha256) as VersionRow | undefined
    const created_at = new Date().toISOString()
    let version: FunctionVersion & { created: boolean }
    if (existing) version = { ...toVersion(existing), created: false }
    else {
      const { last_version } = q.bump.get(input.name, created_at) as { last_version: number }
      const row = { ...input, version: last_version, created_at }
      q.insert.run({ ...row, manifest: JSON.stringify(row.manifest) })
      version = { ...row, created: true }
    }
    // Deploying moves latest, also when the same bundle is deployed again after a rollback.
    writeAlias(input.name, LATEST, [{ version: version.version, weight: 100 }])
    return version
  })

  return {
    async resolve(spec) {
      const at = spec.indexOf('@')
      const name = at < 0 ? spec : spec.slice(0, at)
      const selector = at < 0 ? LATEST : spec.slice(at + 1)
      requireName(name)
      let version: number
      if (/^\d+$/.test(selector)) version = Number(selector)
      else {
        const alias = getAlias(name, selector)
        if (!alias)
          throw notFound(
            'ALIAS_NOT_FOUND',
            `Function "${name}" has no alias "${selector}": list aliases with GET /api/v1/functions/${name}`,
          )
        version = pick(alias)
      }
      const found = getVersionSync(name, version)
      if (!found)
        throw notFound(
          'VERSION_NOT_FOUND',
          `Function "${name}" has no version ${version}: list versions with \`ktrdr fn versions ${name}\``,
        )
      return { ...found, requested: spec } satisfies ResolvedFunction
    },

    async publish(archive, meta: PublishMeta = {}) {
      // Refused before a byte is read: an upload for a name that cannot exist is not worth spooling.
      if (meta.name !== undefined) assertName(meta.name)
      const maxBytes = meta.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES
      const source =
        archive instanceof Uint8Array ? Readable.from([Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength)]) : archive
      // Spooled next to the bundles when they are a local (or NFS) folder, so that publishing is one rename.
      const mount = options.storage.options.mounts.bundles
      const local = !('readOnly' in mount && mount.readOnly) ? resolveLocalPath(options.storage.options, 'bundles') : undefined
      const spooled = await spoolUpload(source, {
        dir: local ?? tmpdir(),
        maxBytes,
        describe: 'a bundle to the bundles mount',
        tooLarge: () =>
          new KtrdrError({
            statusCode: 413,
            code: 'BUNDLE_TOO_LARGE',
            retryable: false,
            message: `Bundle archive exceeds ${maxBytes} bytes (KTRDR_MAX_BUNDLE_BYTES): trim the function's dependencies`,
          }),
      })
      try {
        if (spooled.size === 0)
          throw new KtrdrError({
            statusCode: 400,
            code: 'BUNDLE_MISSING',
            retryable: false,
            message: 'Send the bundle archive (tar.gz from `ktrdr fn build`) as the request body',
          })
        const manifest = readArchiveManifest(await readArchiveEntries(spooled.path), meta.name)
        // Content-addressed as before: the same bytes give the same key and the same version.
        const { sha256, size } = spooled
        const bundle_key = `${manifest.name}/${sha256}.tgz`
        assertStorageKey(bundle_key, 'Bundle')
        if (!(await options.storage.bundles.hasItem(bundle_key))) {
          const target = local && resolveLocalPath(options.storage.options, 'bundles', bundle_key)
          if (target) {
            await fsp.mkdir(dirname(target), { recursive: true })
            await fsp.rename(spooled.path, target)
          } else {
            // A bundles mount that is not a folder (HTTP, another driver) takes whole values: only here is the archive in memory.
            await options.storage.bundles.setItemRaw(bundle_key, await fsp.readFile(spooled.path))
          }
        }
        const version = publishTx({
          name: manifest.name,
          sha256,
          size,
          bundle_key,
          manifest,
          source_commit: meta.source_commit ?? manifest.source_commit ?? null,
        })
        try {
          options.notify?.(version)
        } catch {
          /* prefetch is an optimisation */
        }
        return version
      } finally {
        await fsp.rm(spooled.path, { force: true })
      }
    },

    async getVersion(name, version) {
      return getVersionSync(name, version)
    },

    async listFunctions() {
      return (q.names.all() as { name: string }[]).map(({ name }) => {
        const versions = q.versions.all(name) as VersionRow[]
        const aliases = (q.aliases.all(name) as AliasRow[]).map(toAlias)
        return { name, latest: aliases.find((a) => a.alias === LATEST)?.routes[0]?.version ?? null, versions: versions.length, aliases }
      })
    },

    async getFunction(name) {
      if (!NAME.test(name) || !q.name.get(name)) return null
      return {
        name,
        versions: (q.versions.all(name) as VersionRow[]).map(toVersion),
        aliases: (q.aliases.all(name) as AliasRow[]).map(toAlias),
      }
    },

    async setAlias(name, alias, routes) {
      requireName(name)
      if (!ALIAS.test(alias))
        throw new KtrdrError({
          statusCode: 400,
          code: 'BAD_REQUEST',
          retryable: false,
          message: `"${alias}" is not an alias name (lowercase letter first, then letters, digits, - or _; not a number)`,
        })
      if (!Array.isArray(routes) || routes.length === 0)
        throw new KtrdrError({
          statusCode: 400,
          code: 'BAD_REQUEST',
          retryable: false,
          message: 'An alias needs at least one route: {version} or {routes:[{version, weight}]}',
        })
      const seen = new Set<number>()
      for (const r of routes) {
        if (!Number.isInteger(r.version) || !(typeof r.weight === 'number' && Number.isFinite(r.weight) && r.weight > 0)) {
          throw new KtrdrError({
            statusCode: 400,
            code: 'BAD_REQUEST',
            retryable: false,
            message: `Bad route ${JSON.stringify(r)}: version must be an integer and weight a positive number`,
          })
        }
        if (seen.has(r.version))
          throw new KtrdrError({
            statusCode: 400,
            code: 'BAD_REQUEST',
            retryable: false,
            message: `Version ${r.version} appears twice in the routes`,
          })
        seen.add(r.version)
        if (!getVersionSync(name, r.version))
          throw new KtrdrError({
            statusCode: 422,
            code: 'VERSION_NOT_FOUND',
            retryable: false,
            message: `Function "${name}" has no version ${r.version}`,
          })
      }
      return writeAlias(
        name,
        alias,
        routes.map((r) => ({ version: r.version, weight: r.weight })),
      )
    },

    async rollback(name) {
      requireName(name)
      const latest = getAlias(name, LATEST)
      const current = latest ? Math.max(...latest.routes.map((r) => r.version)) : Infinity
      const previous = (q.versions.all(name) as VersionRow[]).find((r) => r.version < current)
      if (!previous)
        throw new KtrdrError({
          statusCode: 409,
          code: 'NO_PREVIOUS_VERSION',
          retryable: false,
          message: `Function "${name}" has no version before ${current} to roll back to`,
        })
      return writeAlias(name, LATEST, [{ version: previous.version, weight: 100 }])
    },

    async collectGarbage({ keepLast, isInUse }) {
      const referenced = new Set((q.allAliases.all() as AliasRow[]).flatMap((a) => toAlias(a).routes.map((r) => `${a.name}@${r.version}`)))
      const deleted: FunctionVersion[] = []
      for (const { name } of q.names.all() as { name: string }[]) {
        const versions = (q.versions.all(name) as VersionRow[]).map(toVersion)
        for (const [index, v] of versions.entries()) {
          if (index < Math.max(0, keepLast) || referenced.has(`${name}@${v.version}`) || (await isInUse(v.sha256))) continue
          q.deleteVersion.run(name, v.version)
          versionCache.delete(`${name}@${v.version}`)
          // The row goes first: a crash in between leaves an orphan archive, never a row without its bundle.
          await options.storage.bundles.removeItem(v.bundle_key)
          deleted.push(v)
        }
      }
      return deleted
    },
  }
}
