// `ktrdr fn describe` as text: the limits line says when invocations share an executor.
import { describe, expect, it } from 'vitest'
import type { FunctionManifest } from '../../protocol/index.ts'
import { describeView, formatDescription, type FunctionRecord } from '../_fn-describe.ts'

const manifest = (extra: Partial<FunctionManifest> = {}): FunctionManifest => ({
  name: 'fx',
  description: 'd',
  operation_type: 'fx',
  input_schema: { type: 'object', properties: {} },
  placement: {},
  timeout_seconds: 60,
  max_attempts: 2,
  entry: 'server/index.mjs',
  built_at: '1970-01-01T00:00:00.000Z',
  node: '>=20',
  ...extra,
})
const record = (m: FunctionManifest): FunctionRecord => ({
  name: 'fx',
  versions: [
    {
      name: 'fx',
      version: 1,
      sha256: 'a'.repeat(64),
      size: 1,
      bundle_key: 'fx/a.tgz',
      manifest: m,
      created_at: '2026-12-06T00:00:00Z',
      source_commit: null,
    },
  ],
  // The gateway keeps a `latest` alias on every function.
  aliases: [{ name: 'fx', alias: 'latest', routes: [{ version: 1, weight: 100 }], updated_at: '2026-12-06T00:00:00Z' }],
})
const limits = (m: FunctionManifest) =>
  formatDescription(describeView(record(m)))
    .split('\n')
    .find((l) => l.trim().startsWith('limits'))

describe('fn describe', () => {
  it('names the concurrency of a function that declares one, and nothing for one that runs alone', () => {
    expect(limits(manifest({ concurrency: 16 }))).toBe(
      '  limits          timeout 60 s, up to 2 attempts, up to 16 invocations per executor',
    )
    expect(limits(manifest())).toBe('  limits          timeout 60 s, up to 2 attempts')
    expect(describeView(record(manifest())).concurrency).toBe(1)
  })
})
