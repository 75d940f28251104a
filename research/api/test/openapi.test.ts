// The gateway as shipped (runtime routes + the research pack's): its OpenAPI document is valid and
// lists every route of the table, the pack's included.
import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from '../../../test/kit/index.ts'
import { researchRoutes } from '../../index.ts'

let g: TestGateway | undefined
afterAll(async () => {
  await g?.close()
})

it('documents every route of the shipped gateway in a valid OpenAPI 3.1 document', async () => {
  g = await startTestGateway({ routes: researchRoutes })
  const doc = (await g.api('/api/v1/openapi.json')).body
  const result = await new Validator().validate(structuredClone(doc))
  expect(result.errors ?? []).toEqual([])
  const missing = g.gateway.routes
    .filter((r) => r.method !== 'all')
    .filter(
      (r) =>
        !doc.paths[
          r.path
            .replace(/\/$/, '')
            .replace(/:(\w+)/g, '{$1}')
            .replace(/\*\*/g, '{key}')
        ]?.[r.method],
    )
    .map((r) => `${r.method} ${r.path}`)
  expect(missing).toEqual([])
  expect(g.gateway.routes.filter((r) => r.path.startsWith('/api/v1/strategies')).length).toBeGreaterThan(0)
  expect(Object.keys(doc.paths).some((p) => p.startsWith('/api/v1/strategies'))).toBe(true)
})
