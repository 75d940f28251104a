import { promises as fsp } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname } from 'node:path'
import { Readable } from 'node:stream'
import { assertStorageKey, resolveLocalPath, type KtrdrStorage } from '../../../storage/index.ts'
import type { AliasRoute, FunctionAlias, FunctionManifest, FunctionVersion } from '../../protocol/index.ts'
import { KtrdrError, createKtrdrError } from '../../protocol/index.ts'
import { readArchiveManifest } from '../../protocol/index.ts'
import type { GatewayDatabase, SqlClient } from '../_db.ts'
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

/**
 * Function versions and aliases in the gateway's database (SQLite or PostgreSQL). A version is immutable and identified
 * by the sha256 of its archive; the archive lives in the `bundles` mount under `<name>/<sha>.tgz`
 * and is written (atomically) before the row that points at it, so a row never names a missing bundle.
 */
export function createFunctionRegistry(options: FunctionRegistryOptions): FunctionRegistry {
  // The same SQL on SQLite and PostgreSQL (`?` placeholders, ON CONFLICT upserts, RETURNING).
  const { sql } = options.database
  const ready = ensureRegistrySchema(sql)
  // Its failure surfaces with the first query; unobserved until then.
  ready.catch(() => {})
  const random = options.random ?? Math.random
  const db = async () => {
    await ready
    return sql
  }
  const q = {
    version: async (name: string, version: number) =>
      (await db()).get<VersionRow>('SELECT * FROM function_versions WHERE name = ? AND version = ?', [name, version]),
    versions: async (name: string) =>
      (await db()).all<VersionRow>('SELECT * FROM function_versions WHERE name = ? ORDER BY version DESC', [name]),
    names: async () => (await db()).all<{ name: string }>('SELECT name FROM function_names ORDER BY name'),
    name: async (name: string) => (await db()).get('SELECT * FROM function_names WHERE name = ?', [name]),
    alias: async (name: string, alias: string) =>
      (await db()).get<AliasRow>('SELECT * FROM function_aliases WHERE name = ? AND alias = ?', [name, alias]),
    aliases: async (name: string) => (await db()).all<AliasRow>('SELECT * FROM function_aliases WHERE name = ? ORDER BY alias', [name]),
    allAliases: async () => (await db()).all<AliasRow>('SELECT * FROM function_aliases'),
    deleteVersion: async (name: string, version: number) =>
      (await db()).run('DELETE FROM function_versions WHERE name = ? AND version = ?', [name, version]),
  }
  const SET_ALIAS = `INSERT INTO function_aliases (name, alias, routes, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(name, alias) DO UPDATE SET routes = excluded.routes, updated_at = excluded.updated_at`

  // Read-through caches for the invoke hot path (three SQLite reads and a manifest JSON.parse per
  // call otherwise). This registry is the only writer of these tables: versions are immutable and
  // dropped from the cache when garbage-collected, aliases are replaced on every write, names only grow.
  const versionCache = new Map<string, FunctionVersion>()
  const aliasCache = new Map<string, FunctionAlias>()
  const knownNames = new Set<string>()
  async function readThrough<R, T>(
    cache: Map<string, T>,
    key: string,
    load: () => Promise<R | undefined>,
    map: (row: R) => T,
  ): Promise<T | null> {
    const cached = cache.get(key)
    if (cached) return cached
    const row = await load()
    if (!row) return null
    const found = map(row)
    cache.set(key, found)
    return found
  }
  const getVersionCached = (name: string, version: number) =>
    readThrough(versionCache, `${name}@${version}`, () => q.version(name, version), toVersion)
  const getAlias = (name: string, alias: string) => readThrough(aliasCache, `${name}@${alias}`, () => q.alias(name, alias), toAlias)
  function assertName(name: string) {
    if (!NAME.test(name))
      throw new KtrdrError({
        code: 'FUNCTION_NAME_INVALID',
        message: `"${name}" is not a function name (lowercase letters, digits, dashes)`,
      })
  }
  async function requireName(name: string) {
    if (knownNames.has(name)) return
    assertName(name)
    if (!(await q.name(name)))
      throw createKtrdrError('FUNCTION_NOT_FOUND', `No function "${name}" has been published: deploy it with \`ktrdr fn deploy ${name}\``)
    knownNames.add(name)
  }
  async function writeAlias(name: string, alias: string, routes: AliasRoute[], tx?: SqlClient): Promise<FunctionAlias> {
    const updated_at = new Date().toISOString()
    await (tx ?? (await db())).run(SET_ALIAS, [name, alias, JSON.stringify(routes), updated_at])
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

  const publishTx = async (input: Omit<FunctionVersion, 'version' | 'created_at'>) =>
    (await db()).transaction(async (tx): Promise<FunctionVersion & { created: boolean }> => {
      const existing = await tx.get<VersionRow>('SELECT * FROM function_versions WHERE name = ? AND sha256 = ?', [input.name, input.sha256])
      const created_at = new Date().toISOString()
      let version: FunctionVersion & { created: boolean }
      if (existing) version = { ...toVersion(existing), created: false }
      else {
        const { last_version } = (await tx.get<{ last_version: number }>(
          `INSERT INTO function_names (name, last_version, created_at) VALUES (?, 1, ?)
          ON CONFLICT(name) DO UPDATE SET last_version = function_names.last_version + 1 RETURNING last_version`,
          [input.name, created_at],
        ))!
        const row = { ...input, version: last_version, created_at }
        await tx.run(
          `INSERT INTO function_versions (name, version, sha256, size, bundle_key, manifest, created_at, source_commit) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            row.name,
            row.version,
            row.sha256,
            row.size,
            row.bundle_key,
            JSON.stringify(row.manifest),
            row.created_at,
            row.source_commit ?? null,
          ],
        )
        version = { ...row, created: true }
      }
      // Deploying moves latest, also when the same bundle is deployed again after a rollback.
      await writeAlias(input.name, LATEST, [{ version: version.version, weight: 100 }], tx)
      return version
    })

  return {
    async resolve(spec) {
      const at = spec.indexOf('@')
      const name = at < 0 ? spec : spec.slice(0, at)
      const selector = at < 0 ? LATEST : spec.slice(at + 1)
      await requireName(name)
      let version: number
      if (/^\d+$/.test(selector)) version = Number(selector)
      else {
        const alias = await getAlias(name, selector)
        if (!alias)
          throw createKtrdrError(
            'ALIAS_NOT_FOUND',
            `Function "${name}" has no alias "${selector}": list aliases with GET /api/v1/functions/${name}`,
          )
        version = pick(alias)
      }
      const found = await getVersionCached(name, version)
      if (!found)
        throw createKtrdrError(
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
          createKtrdrError(
            'BUNDLE_TOO_LARGE',
            `Bundle archive exceeds ${maxBytes} bytes (KTRDR_MAX_BUNDLE_BYTES or KTRDR_MAX_BUNDLE_MB): trim the function's dependencies`,
          ),
      })
      try {
        if (spooled.size === 0)
          throw createKtrdrError('BUNDLE_MISSING', 'Send the bundle archive (tar.gz from `ktrdr fn build`) as the request body')
        const manifest = readArchiveManifest(await readArchiveEntries(spooled.path), meta.name)
        // Content-addressed as before: the same bytes give the same key and the same version.
        const { sha256, size } = spooled
        const bundle_key = `${manifest.name}/${sha256}.tgz`
        assertStorageKey(bundle_key)
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
        const version = await publishTx({
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
      return getVersionCached(name, version)
    },

    async listFunctions() {
      return Promise.all(
        (await q.names()).map(async ({ name }) => {
          const versions = await q.versions(name)
          const aliases = (await q.aliases(name)).map(toAlias)
          return { name, latest: aliases.find((a) => a.alias === LATEST)?.routes[0]?.version ?? null, versions: versions.length, aliases }
        }),
      )
    },

    async getFunction(name) {
      if (!NAME.test(name) || !(await q.name(name))) return null
      return {
        name,
        versions: (await q.versions(name)).map(toVersion),
        aliases: (await q.aliases(name)).map(toAlias),
      }
    },

    async setAlias(name, alias, routes) {
      await requireName(name)
      if (!ALIAS.test(alias))
        throw new KtrdrError({
          code: 'BAD_REQUEST',
          message: `"${alias}" is not an alias name (lowercase letter first, then letters, digits, - or _; not a number)`,
        })
      if (!Array.isArray(routes) || routes.length === 0)
        throw new KtrdrError({
          code: 'BAD_REQUEST',
          message: 'An alias needs at least one route: {version} or {routes:[{version, weight}]}',
        })
      const seen = new Set<number>()
      for (const r of routes) {
        if (!Number.isInteger(r.version) || !(typeof r.weight === 'number' && Number.isFinite(r.weight) && r.weight > 0)) {
          throw new KtrdrError({
            code: 'BAD_REQUEST',
            message: `Bad route ${JSON.stringify(r)}: version must be an integer and weight a positive number`,
          })
        }
        if (seen.has(r.version))
          throw new KtrdrError({
            code: 'BAD_REQUEST',
            message: `Version ${r.version} appears twice in the routes`,
          })
        seen.add(r.version)
        if (!(await getVersionCached(name, r.version)))
          throw new KtrdrError({
            code: 'ALIAS_TARGET_NOT_FOUND',
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
      await requireName(name)
      const latest = await getAlias(name, LATEST)
      const current = latest ? Math.max(...latest.routes.map((r) => r.version)) : Infinity
      const previous = (await q.versions(name)).find((r) => r.version < current)
      if (!previous)
        throw new KtrdrError({
          code: 'NO_PREVIOUS_VERSION',
          message: `Function "${name}" has no version before ${current} to roll back to`,
        })
      return writeAlias(name, LATEST, [{ version: previous.version, weight: 100 }])
    },

    async collectGarbage({ keepLast, isInUse }) {
      const referenced = new Set((await q.allAliases()).flatMap((a) => toAlias(a).routes.map((r) => `${a.name}@${r.version}`)))
      const deleted: FunctionVersion[] = []
      for (const { name } of await q.names()) {
        const versions = (await q.versions(name)).map(toVersion)
        for (const [index, v] of versions.entries()) {
          if (index < Math.max(0, keepLast) || referenced.has(`${name}@${v.version}`) || (await isInUse(v.sha256))) continue
          await q.deleteVersion(name, v.version)
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
