import { createRequire } from 'node:module'
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
  // The API reference page's files (read from disk at request time, invisible to the tracer).
  externals: {
    external: ['better-sqlite3'],
    traceInclude: [
      createRequire(import.meta.url).resolve('better-sqlite3'),
      createRequire(import.meta.url).resolve('swagger-ui-dist/swagger-ui-bundle.js'),
      createRequire(import.meta.url).resolve('swagger-ui-dist/swagger-ui.css'),
    ],
  },
  typescript: { generateTsConfig: false },
  sourceMap: false,
})
