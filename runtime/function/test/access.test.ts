import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { defineFunction } from '../define.ts'
import { describeFunction } from '../_describe.ts'
import { parseManifest } from '../../protocol/index.ts'
import { checkStorageScope } from '../_scope.ts'

const base = {
  name: 'fx',
  description: 'd',
  input: z.object({}),
  async run() {
    return null
  },
}
const manifest = {
  name: 'fx',
  description: 'd',
  operation_type: 'fx',
  input_schema: {},
  placement: {},
  timeout_seconds: 1,
  max_attempts: 1,
  entry: 'server/index.mjs',
  built_at: 'x',
  node: '>=20',
}

describe('function declarations', () => {
  it('refuses KTRDR_* and malformed env names, unknown mounts and bad modes', () => {
    expect(() => defineFunction({ ...base, env: ['KTRDR_CLUSTER_TOKEN'] })).toThrow(/may not name KTRDR_CLUSTER_TOKEN/)
    expect(() => defineFunction({ ...base, env: ['ktrdr_api_token'] })).toThrow(/KTRDR_/)
    expect(() => defineFunction({ ...base, env: ['A-B'] })).toThrow(/not an environment variable name/)
    expect(() => defineFunction({ ...base, storage: { secrets: 'read' } as never })).toThrow(/unknown mount "secrets"/)
    expect(() => defineFunction({ ...base, storage: { data: 'rw' } as never })).toThrow(/must be 'read' or 'write'/)
    expect(() => defineFunction({ ...base, storage: { data: { access: 'read', prefixes: ['../x'] } } })).toThrow(/without "\.\."/)
  })

  it('describes storage as normalised prefixes and env sorted; the manifest check refuses KTRDR_* too', () => {
    const d = describeFunction(
      defineFunction({
        ...base,
        env: ['B', 'A'],
        storage: { data: 'read', results: { access: 'write', prefixes: ['backtests/', 'a/b'] } },
      }),
    )
    expect(d.env).toEqual(['A', 'B'])
    expect(d.storage).toEqual({ data: { access: 'read', prefixes: [] }, results: { access: 'write', prefixes: ['a:b:', 'backtests:'] } })
    expect(() => parseManifest({ ...manifest, env: ['KTRDR_API_TOKEN'] })).toThrow(/BUNDLE_MANIFEST_INVALID|host's settings/)
    expect(parseManifest({ ...manifest, ...d })).toMatchObject({ storage: d.storage, env: ['A', 'B'] })
  })

  it('concurrency: a whole number from 1 to 1000, in the manifest only when above 1', () => {
    for (const bad of [0, 1.5, 1001, -2, '4'])
      expect(() => defineFunction({ ...base, concurrency: bad as never })).toThrow(/concurrency must be a whole number from 1 to 1000/)
    expect(describeFunction(defineFunction({ ...base, concurrency: 8 }))).toMatchObject({ concurrency: 8 })
    expect(describeFunction(defineFunction({ ...base, concurrency: 1 }))).not.toHaveProperty('concurrency')
    expect(describeFunction(defineFunction(base))).not.toHaveProperty('concurrency')
    expect(parseManifest({ ...manifest, concurrency: 16 }).concurrency).toBe(16)
    for (const bad of [0, 2.5, 1001]) expect(() => parseManifest({ ...manifest, concurrency: bad })).toThrow(/concurrency/)
  })

  it('scope: prefixes bound items and listings; read mounts refuse writes', () => {
    const scope = { results: { access: 'write' as const, prefixes: ['backtests:'] }, data: { access: 'read' as const, prefixes: [] } }
    expect(checkStorageScope(scope, 'results', 'backtests:op1:summary.json', 'write', 'fx')).toBe('all')
    expect(checkStorageScope(scope, 'results', 'backtests:', 'list', 'fx')).toBe('all')
    expect(checkStorageScope(scope, 'results', '', 'list', 'fx')).toBe('filter')
    expect(() => checkStorageScope(scope, 'results', 'backtestsX:a', 'read', 'fx')).toThrow(/only under backtests/)
    expect(() => checkStorageScope(scope, 'results', '', 'clear', 'fx')).toThrow(/STORAGE|only under/)
    expect(() => checkStorageScope(scope, 'data', 'AAPL_1h.csv', 'write', 'fx')).toThrow(/as 'read'/)
    expect(() => checkStorageScope(scope, 'models', 'm', 'read', 'fx')).toThrow(/does not declare storage.models/)
  })
})
