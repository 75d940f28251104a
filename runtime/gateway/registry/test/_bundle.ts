import { packArchive } from '../../../protocol/index.ts'
import type { FunctionManifest } from '../../../protocol/index.ts'

export const enc = new TextEncoder()

/** A minimal valid bundle; `marker` changes the code so each marker is a distinct version. */
export function bundle(name: string, marker: string, manifest: Partial<FunctionManifest> = {}): Uint8Array {
  const m: FunctionManifest = {
    name,
    description: `${name} test bundle`,
    operation_type: name,
    input_schema: { type: 'object' },
    placement: {},
    timeout_seconds: 60,
    max_attempts: 1,
    entry: 'server/index.mjs',
    built_at: '1970-01-01T00:00:00.000Z',
    source_commit: null,
    node: '>=20',
    ...manifest,
  }
  return packArchive([
    { name: 'manifest.json', data: enc.encode(JSON.stringify(m)) },
    { name: 'server/index.mjs', data: enc.encode(`// ${marker}\n`) },
  ])
}
