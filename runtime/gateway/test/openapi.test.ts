// The OpenAPI 3.1 document: valid for a real OpenAPI validator, every route of the table in it,
// each deployed function's input schema included, documented request examples valid against the
// document's own schemas (and accepted by the routes), and the reference page served offline.
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterEach, describe, expect, it } from 'vitest'
import { openApiPath } from '../_openapi.ts'
import { startFakeHost, useTestGateways } from '../../../test/kit/index.ts'

const { gw, cleanup } = useTestGateways(afterEach)

describe('GET /api/v1/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document with every route of the table and every deployed function', async () => {
    const g = await gw({ apiToken: 'api-t' })
    expect((await fetch(`${g.url}/api/v1/openapi.json`)).status).toBe(401)
    const doc = (await g.api('/api/v1/openapi.json', { headers: { authorization: 'Bearer api-t' } })).body
    const validator = new Validator()
    const result = await validator.validate(structuredClone(doc))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')

    for (const route of g.gateway.routes) {
      const item = doc.paths[openApiPath(route.path)]
      expect(item, route.path).toBeDefined()
      for (const method of route.method === 'all' ? ['get', 'put', 'delete'] : [route.method])
        expect(item[method], `${method} ${route.path}`).toBeDefined()
      const op = item[route.method === 'all' ? 'get' : route.method]
      expect(op.security).toEqual(route.auth === 'public' ? [] : [{ [route.auth === 'cluster' ? 'clusterToken' : 'apiToken']: [] }])
    }
    // Each deployed function: its input schema and a path to invoke it.
    for (const name of ['echo', 'strict', 'train']) {
      expect(doc.components.schemas[`FunctionInput_${name}`]).toBeDefined()
      expect(doc.paths[`/api/v1/functions/${name}/invoke`].post.requestBody.content['application/json'].schema.allOf[1]).toEqual({
        properties: { input: { $ref: `#/components/schemas/FunctionInput_${name}` } },
      })
    }
    expect(doc.components.schemas.FunctionInput_strict).toMatchObject({ required: ['symbol'], additionalProperties: false })
    // Query parameters come from the zod schemas the routes validate with.
    const listParams = doc.paths['/api/v1/operations'].get.parameters.map((p: { name: string }) => p.name)
    expect(listParams).toEqual(expect.arrayContaining(['status', 'limit', 'offset', 'function']))
  })

  it('documented request examples validate against their schemas and the routes accept them', async () => {
    const g = await gw()
    const h = await startFakeHost({ gatewayUrl: g.url, workerId: 'h' })
    cleanup(() => h.close())
    const doc = (await g.api('/api/v1/openapi.json')).body
    const ajv = new Ajv2020({ strict: false, allErrors: true })
    ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc')
    let checked = 0
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const media = op.requestBody?.content?.['application/json']
        for (const [name, example] of Object.entries<{ value: unknown }>(media?.examples ?? {})) {
          // The document's own schema, with its references resolved in the document.
          const schema = JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/', '"doc#/components/'))
          const validate = ajv.compile(schema)
          expect(validate(example.value), `${method} ${path} example ${name}: ${ajv.errorsText(validate.errors)}`).toBe(true)
          checked++
          if (path === '/api/v1/functions/{name}/invoke') {
            const res = await g.api(`/api/v1/functions/echo/invoke`, { body: example.value })
            expect([200, 202], `${name}: ${JSON.stringify(res.body)}`).toContain(res.status)
          }
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2)
    // And the schema refuses what the route refuses.
    const invoke = doc.paths['/api/v1/functions/{name}/invoke'].post.requestBody.content['application/json'].schema
    const validate = new Ajv2020({ strict: false }).compile(invoke)
    expect(validate({ input: {}, epochs: 3 })).toBe(false)
    const refused = await g.api('/api/v1/functions/echo/invoke', { body: { input: {}, epochs: 3 } })
    expect(refused.status).toBe(400)
    expect(refused.body.message).toMatch(/^epochs is not a known field/)
    expect((await g.api('/api/v1/functions/echo/invoke', { body: { input: {}, priority: 1.5 } })).body.message).toBe(
      'priority must be an integer between -1000 and 1000 (higher runs first)',
    )
  })
})

describe('/docs', () => {
  it('serves the reference page and its files from this gateway, without a token and without a CDN', async () => {
    const g = await gw({ apiToken: 'api-t' })
    const page = await fetch(`${g.url}/docs`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/text\/html/)
    const html = await page.text()
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    expect(refs.length).toBeGreaterThanOrEqual(3)
    for (const ref of refs) {
      expect(ref.startsWith('/docs/'), ref).toBe(true)
      const res = await fetch(`${g.url}${ref}`)
      expect(res.status, ref).toBe(200)
      expect((await res.arrayBuffer()).byteLength, ref).toBeGreaterThan(100)
    }
    expect((await fetch(`${g.url}/docs/package.json`)).status).toBe(404)
    expect((await fetch(`${g.url}/docs/index.html`)).status).toBe(404)
  })
})
