import { relative } from 'node:path'
import { defineCommand } from 'citty'
import type { FunctionAlias, FunctionVersion } from '../../protocol/index.ts'
import { apiArgs, guard, table, useGatewayApi } from '../_api.ts'
import { deployFunction } from '../_deploy.ts'

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`

const list = (csv: string | undefined) =>
  csv
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)

async function build(target: string, outDir?: string, include?: string) {
  const { buildFunctionBundle } = await import('../../bundler/index.ts')
  return buildFunctionBundle(target, { outDir, include: list(include) })
}

const includeArg = {
  type: 'string',
  description:
    'Comma-separated packages to copy into the bundle although bundle.json excludes them (e.g. @node-llama-cpp/linux-x64-cuda on a CUDA host)',
} as const

const buildCmd = defineCommand({
  meta: { name: 'build', description: 'Build functions/<name> (or a dir with index.ts) into a content-addressed bundle archive' },
  args: {
    target: { type: 'positional', description: 'Function name under functions/ or a directory', required: true },
    out: { type: 'string', description: 'Output dir (default .ktrdr/build)' },
    include: includeArg,
    json: apiArgs.json,
  },
  run: ({ args }) =>
    guard(async () => {
      const built = await build(args.target, args.out, args.include)
      if (args.json) return console.log(JSON.stringify(built, null, 2))
      console.log(
        `built ${built.name}  sha256 ${built.sha256}  ${kb(built.size)}  in ${built.buildMs} ms\n  → ${relative(process.cwd(), built.archivePath)}`,
      )
    }),
})

const deployCmd = defineCommand({
  meta: { name: 'deploy', description: 'Build and publish a function: a new immutable version, latest moves to it, hosts prefetch it' },
  args: {
    target: { type: 'positional', description: 'Function name under functions/ or a directory', required: true },
    archive: { type: 'string', description: 'Publish this prebuilt .tgz instead of building' },
    include: includeArg,
    ...apiArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const v = await deployFunction(args.target, { gateway: useGatewayApi(args.url), archive: args.archive, include: list(args.include) })
      if (args.json) {
        const { built: _built, buildMs, uploadMs, ...version } = v
        return console.log(JSON.stringify({ ...version, build_ms: buildMs, upload_ms: uploadMs }, null, 2))
      }
      console.log(
        `${v.created ? 'deployed' : 'already published as'} ${v.name}@${v.version}  sha256 ${v.sha256}  ${kb(v.size)}${v.buildMs !== null ? `  build ${v.buildMs} ms` : ''}  upload ${v.uploadMs} ms  (latest → ${v.version})`,
      )
    }),
})

const listCmd = defineCommand({
  meta: { name: 'list', description: 'Published functions with their latest version and aliases' },
  args: { ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const page = await useGatewayApi(args.url)<{
        data: Array<{ name: string; latest: number | null; versions: number; aliases: FunctionAlias[] }>
      }>('/api/v1/functions')
      if (args.json) return console.log(JSON.stringify(page, null, 2))
      const fns = page.data
      console.log(
        table(
          fns.map((f) => ({ name: f.name, latest: f.latest, versions: f.versions, aliases: f.aliases.map(aliasText).join(' ') })),
          ['name', 'latest', 'versions', 'aliases'],
        ),
      )
    }),
})

const versionsCmd = defineCommand({
  meta: { name: 'versions', description: 'Versions of one function (sha256, size, created, hosts that have it warm)' },
  args: { name: { type: 'positional', required: true, description: 'Function name' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const fn = await useGatewayApi(args.url)<{ versions: Array<FunctionVersion & { warm_hosts: string[] }>; aliases: FunctionAlias[] }>(
        `/api/v1/functions/${args.name}`,
      )
      if (args.json) return console.log(JSON.stringify(fn, null, 2))
      const aliasesOf = (v: number) =>
        fn.aliases
          .filter((a) => a.routes.some((r) => r.version === v))
          .map((a) => a.alias)
          .join(',')
      console.log(
        table(
          fn.versions.map((v) => ({
            version: v.version,
            sha256: v.sha256.slice(0, 12),
            size: kb(v.size),
            created: v.created_at,
            aliases: aliasesOf(v.version),
            warm: v.warm_hosts.length,
          })),
          ['version', 'sha256', 'size', 'created', 'aliases', 'warm'],
        ),
      )
    }),
})

const aliasCmd = defineCommand({
  meta: { name: 'alias', description: 'Point an alias at a version, or split it: `ktrdr fn alias echo canary 3=90,4=10`' },
  args: {
    name: { type: 'positional', required: true, description: 'Function name' },
    alias: { type: 'positional', required: true, description: 'Alias (stable, canary, …; latest too)' },
    target: { type: 'positional', required: true, description: 'A version, or version=weight pairs separated by commas' },
    ...apiArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const routes = args.target.split(',').map((part) => {
        const [v, w] = part.split('=')
        const version = Number(v),
          weight = w === undefined ? 100 : Number(w)
        if (!Number.isInteger(version) || !(weight > 0)) throw new Error(`"${part}" is not <version> or <version>=<weight>`)
        return { version, weight }
      })
      const alias = await useGatewayApi(args.url)<FunctionAlias>(`/api/v1/functions/${args.name}/aliases/${args.alias}`, {
        method: 'PUT',
        body: { routes },
      })
      console.log(args.json ? JSON.stringify(alias, null, 2) : `${args.name}@${aliasText(alias)}`)
    }),
})

const rollbackCmd = defineCommand({
  meta: { name: 'rollback', description: 'Point latest back to the previous version' },
  args: { name: { type: 'positional', required: true, description: 'Function name' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const alias = await useGatewayApi(args.url)<FunctionAlias>(`/api/v1/functions/${args.name}/rollback`, { method: 'POST' })
      console.log(args.json ? JSON.stringify(alias, null, 2) : `${args.name}@${aliasText(alias)}`)
    }),
})

const gcCmd = defineCommand({
  meta: { name: 'gc', description: 'Delete old versions not referenced by an alias or a live operation' },
  args: { 'keep-last': { type: 'string', description: 'Newest versions to keep per function (default 3)' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const body = args['keep-last'] === undefined ? {} : { keep_last: Number(args['keep-last']) }
      const result = await useGatewayApi(args.url)<{ deleted: Array<{ name: string; version: number; size: number }> }>(
        '/api/v1/functions/gc',
        { method: 'POST', body },
      )
      console.log(
        args.json
          ? JSON.stringify(result, null, 2)
          : result.deleted.length
            ? result.deleted.map((d) => `deleted ${d.name}@${d.version} (${kb(d.size)})`).join('\n')
            : 'nothing to delete',
      )
    }),
})

function aliasText(a: FunctionAlias): string {
  return `${a.alias}→${a.routes.map((r) => (a.routes.length > 1 ? `${r.version}(${r.weight})` : String(r.version))).join('+')}`
}

export default defineCommand({
  meta: { name: 'fn', description: 'Build, deploy and manage function versions' },
  subCommands: {
    build: buildCmd,
    deploy: deployCmd,
    list: listCmd,
    versions: versionsCmd,
    alias: aliasCmd,
    rollback: rollbackCmd,
    gc: gcCmd,
  },
})
