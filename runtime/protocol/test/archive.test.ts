import { describe, expect, it } from 'vitest'
import { packArchive, unpackArchive } from '../index.ts'

describe('bundle archives', () => {
  it('keep paths longer than 100 bytes whole (node_modules of traced packages have them)', () => {
    const long = `server/node_modules/ipull/dist/download/download-engine/streams/download-engine-fetch-stream/errors/${'x'.repeat(150)}.js`
    const files = [
      { name: long, data: new TextEncoder().encode('export const x = 1') },
      { name: 'server/index.mjs', data: new Uint8Array(700).fill(1), mode: '755' },
    ]
    const out = unpackArchive(packArchive(files))
    expect(out.map((f) => [f.name, f.data.length, Number.parseInt(f.mode ?? '', 8)])).toEqual([
      ['server/index.mjs', 700, 0o755],
      [long, 18, 0o644],
    ])
    expect(Buffer.from(packArchive(files)).equals(Buffer.from(packArchive([...files].reverse())))).toBe(true)
  })
})
