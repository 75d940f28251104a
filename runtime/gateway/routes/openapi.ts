import { createReadStream } from 'node:fs'
import { createRequire } from 'node:module'
import { defineEventHandler, getRouterParam, sendStream, setResponseHeader } from 'h3'
import { KtrdrError } from '../../protocol/index.ts'
import { invokeRequestSchema } from '../_invoke-schema.ts'
import { buildOpenApiDocument } from '../_openapi.ts'
import { defineGatewayRoutes } from '../_routes.ts'

const VERSION = '0.1.0'

/** Files of the reference page, served from the installed swagger-ui-dist (no CDN: the page works offline). */
const ASSETS: Record<string, { file: string; type: string }> = {
  'swagger-ui-bundle.js': { file: 'swagger-ui-dist/swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
  'swagger-ui.css': { file: 'swagger-ui-dist/swagger-ui.css', type: 'text/css; charset=utf-8' },
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>KTRDR API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<style>body{margin:0} #token{padding:1em;font-family:sans-serif} #token[hidden]{display:none}</style>
</head>
<body>
<form id="token" hidden>This gateway needs its API token (KTRDR_API_TOKEN) to show its API:
<input type="password" name="token" autocomplete="off" size="40"> <button>Show</button></form>
<div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`

/** Loads the document with the token kept for this tab (sessionStorage), asking for it when the gateway wants one. */
const INIT = `(() => {
  const KEY = 'ktrdr-api-token'
  const form = document.getElementById('token')
  const auth = () => (sessionStorage.getItem(KEY) ? { Authorization: 'Bearer ' + sessionStorage.getItem(KEY) } : {})
  const show = () =>
    SwaggerUIBundle({
      url: '/api/v1/openapi.json',
      dom_id: '#ui',
      requestInterceptor: (req) => Object.assign(req, { headers: Object.assign(req.headers || {}, auth()) }),
      onComplete: () => sessionStorage.getItem(KEY) && window.ui && window.ui.preauthorizeApiKey('apiToken', sessionStorage.getItem(KEY)),
    })
  const load = () =>
    fetch('/api/v1/openapi.json', { headers: auth() }).then((res) => {
      if (res.status === 401) form.hidden = false
      else window.ui = show()
    })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    sessionStorage.setItem(KEY, form.elements.token.value.trim())
    form.hidden = true
    load()
  })
  load()
})()
`

/**
 * The API described: GET /api/v1/openapi.json (OpenAPI 3.1, API token like the rest) and the
 * reference page at /docs (public: the page holds no API data; it asks for the token to load the
 * document).
 */
export default defineGatewayRoutes((router, ctx) => {
  const require = createRequire(import.meta.url)
  router.get(
    '/api/v1/openapi.json',
    {
      doc: {
        summary: 'This document: OpenAPI 3.1 of every route and of each deployed function’s input',
        tag: 'reference',
        response: { contentType: 'application/json', description: 'The OpenAPI 3.1 document' },
      },
    },
    defineEventHandler(() =>
      buildOpenApiDocument({
        routes: router.routes,
        functions: ctx.functions,
        invokeSchema: invokeRequestSchema(ctx.options.queue.maxWaitSeconds),
        version: VERSION,
      }),
    ),
  )
  router.get(
    '/docs',
    {
      auth: 'public',
      doc: {
        summary: 'The API reference page (Swagger UI, served from this gateway)',
        tag: 'reference',
        response: { contentType: 'text/html', description: 'HTML' },
      },
    },
    defineEventHandler((event) => {
      setResponseHeader(event, 'content-type', 'text/html; charset=utf-8')
      return PAGE
    }),
  )
  router.get(
    '/docs/:asset',
    {
      auth: 'public',
      doc: {
        summary: 'Script and style of the reference page',
        tag: 'reference',
        response: { contentType: 'text/plain', description: 'The file' },
      },
    },
    defineEventHandler((event) => {
      const name = getRouterParam(event, 'asset', { decode: true })!
      if (name === 'init.js') {
        setResponseHeader(event, 'content-type', 'text/javascript; charset=utf-8')
        return INIT
      }
      const asset = ASSETS[name]
      if (!asset) throw new KtrdrError({ code: 'NOT_FOUND', message: `No file ${name} in the API reference page` })
      let path: string
      try {
        path = require.resolve(asset.file)
      } catch {
        throw new KtrdrError({
          code: 'DOCS_ASSETS_MISSING',
          message: `The reference page needs the swagger-ui-dist package next to the gateway (npm install); the document itself is at /api/v1/openapi.json`,
        })
      }
      setResponseHeader(event, 'content-type', asset.type)
      setResponseHeader(event, 'cache-control', 'public, max-age=3600')
      return sendStream(event, createReadStream(path))
    }),
  )
})
