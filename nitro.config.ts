import { cp, mkdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineNitroConfig } from 'nitropack/config'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/**
 * `npm run build:gateway` → .output/ (preset node-server): the gateway as a deployable Nitro server.
 * Run it with `PORT=8000 node .output/server/index.mjs` (all KTRDR_* variables apply); the same
 * app runs unbuilt with `ktrdr gateway`. The gateway's SQLite file must be on local disk.
 */
export default defineNitroConfig({
  preset: 'node-server',
  compatibilityDate: '2025-01-01',
  srcDir: 'runtime/gateway/nitro',
  scanDirs: [],
  imports: false,
  serveStatic: false,
  handlers: [{ route: '/**', handler: here('./runtime/gateway/nitro/handler.ts') }],
  // The gateway plugin composed with the packs (server/plugin.ts): runtime/ never imports a pack.
  plugins: [here('./server/plugin.ts')],
  errorHandler: here('./runtime/gateway/nitro/error.ts'),
  // Native addon (loaded through db0's dynamic import): trace it into .output/server/node_modules.
  externals: {
    external: ['better-sqlite3'],
    traceInclude: [createRequire(import.meta.url).resolve('better-sqlite3')],
  },
  typescript: { generateTsConfig: false },
  // The dashboard (research/ui/public) and its chart library next to the server: .output/ui, which
  // server/plugin.ts serves at /ui.
  hooks: {
    async compiled(nitro) {
      const ui = join(nitro.options.output.dir, 'ui')
      await cp(here('./research/ui/public'), ui, { recursive: true })
      await mkdir(join(ui, 'vendor'), { recursive: true })
      const charts = dirname(createRequire(import.meta.url).resolve('lightweight-charts/package.json'))
      await cp(join(charts, 'dist/lightweight-charts.standalone.production.mjs'), join(ui, 'vendor/lightweight-charts.mjs'))
      // The API reference page's files, read from disk at request time (require.resolve from the
      // server's chunks finds them here). Not through the tracer: its raw-import handling of a
      // traced .css file broke the build (a "\0raw:" path handed to readlink).
      const swagger = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
      const to = join(nitro.options.output.serverDir, 'node_modules', 'swagger-ui-dist')
      await mkdir(to, { recursive: true })
      for (const file of ['package.json', 'swagger-ui-bundle.js', 'swagger-ui.css']) await cp(join(swagger, file), join(to, file))
    },
  },
  sourceMap: false,
})
