// The storage contract: what KTRDR relies on from every way it reaches storage (the fs-atomic
// driver, the gateway's /api/v1/storage over HTTP, a host's per-invocation /_storage proxy, direct
// fs behind a function's scope). One list of checks, run against each path in the style of
// unstorage's own testDriver. Each check is a plain async function that throws when the contract
// is broken (node:assert, no vitest), so a test can also run it against a deliberately broken
// storage and require that it fails (storage/test/contract.test.ts).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, promises as fsp } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Storage } from 'unstorage'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { TEMP_NAME, TMP_MARK } from '../_atomic.ts'

/**
 * Where a path legitimately differs. Known differences:
 * - metaSize: fs stats the file; over HTTP unstorage's HEAD answer carries only Last-Modified,
 *   so getMeta has no size there (the gateway's storedSize falls back to reading the item);
 * - mtimeResolutionMs: fs has sub-millisecond mtimes; Last-Modified has whole seconds.
 * Raw reads return a Buffer on every path (storage/drivers/http.ts converts unstorage's ArrayBuffer).
 */
export interface StorageContractCapabilities {
  metaSize: boolean
  mtimeResolutionMs: number
}

export interface StorageContractTarget {
  storage: Storage
  /** The same items through a view that must refuse every write (a readOnly mount, a read-only scope); null: this path has none. */
  readOnly: Storage | null
  /** The local folder the items land in, for the checks that look at the disk (escapes, temp files); null: not on a local disk. */
  root: string | null
  capabilities: StorageContractCapabilities
  close?(): Promise<void>
}

export interface StorageContractCheck {
  name: string
  /** What the target must provide; a target that declares it null gets the check skipped with that reason. */
  needs?: 'readOnly' | 'root'
  run(target: StorageContractTarget): Promise<void>
}

/** HTTP status an error carries: a KtrdrError's statusCode, an ofetch FetchError's status. */
export function statusOf(error: unknown): number | undefined {
  const e = error as { statusCode?: unknown; status?: unknown } | null
  const status = e?.statusCode ?? e?.status
  return typeof status === 'number' ? status : undefined
}

/** Our error code wherever it travelled: a KtrdrError, the gateway's JSON body, a host's h3 error body. */
export function codeOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; data?: { code?: unknown; data?: { code?: unknown } } } | null
  return [e?.code, e?.data?.code, e?.data?.data?.code].find((c): c is string => typeof c === 'string' && /^[A-Z][A-Z_]+$/.test(c))
}

async function refusal(promise: Promise<unknown>, what: string): Promise<unknown> {
  let error: unknown
  const outcome = await promise.then(
    () => 'done',
    (e: unknown) => {
      error = e
      return 'refused'
    },
  )
  assert.equal(outcome, 'refused', `${what} should have been refused`)
  return error
}

async function refusedWith4xx(promise: Promise<unknown>, what: string): Promise<void> {
  const error = await refusal(promise, what)
  const status = statusOf(error)
  assert.ok(
    status !== undefined && status >= 400 && status < 500,
    `${what}: expected a 4xx refusal, got ${status ?? 'no status'}: ${String(error)}`,
  )
}

const bytesOf = (raw: unknown): Buffer => {
  assert.ok(raw instanceof Uint8Array, `raw value should be a Uint8Array, got ${Object.prototype.toString.call(raw)}`)
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
}
const sorted = (keys: string[]) => [...keys].sort()

/** Temporary files of atomic writes left anywhere under `root`. */
export async function tempLeftovers(root: string): Promise<string[]> {
  const entries = await fsp.readdir(root, { recursive: true }).catch(() => [] as string[])
  return entries.filter((e) => TEMP_NAME.test(e) || e.includes(TMP_MARK))
}

/**
 * Makes every write of an atomic-write temporary file under `root` fail halfway with ENOSPC, the
 * way a full disk does (half the bytes land, then the write fails). In-process: servers started by
 * the test write through the same `fs.promises`. Returns the undo.
 */
export function injectFullDisk(root: string): () => void {
  const open = fsp.open
  fsp.open = async function (path: Parameters<typeof open>[0], ...rest: unknown[]): Promise<FileHandle> {
    const handle = await (open as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest)
    if (typeof path !== 'string' || !path.startsWith(root) || !path.includes(TMP_MARK)) return handle
    const writeFile = async (data: string | Uint8Array) => {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data
      await handle.write(bytes.subarray(0, Math.floor(bytes.byteLength / 2)))
      throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', errno: -28, syscall: 'write' })
    }
    return new Proxy(handle, {
      get(h, p) {
        if (p === 'writeFile') return writeFile
        const value = Reflect.get(h, p, h) as unknown
        return typeof value === 'function' ? value.bind(h) : value
      },
    }) as FileHandle
  } as typeof open
  return () => {
    fsp.open = open
  }
}

export const STORAGE_CONTRACT: StorageContractCheck[] = [
  {
    name: 'text and JSON values: set, get, has and remove round-trip',
    async run({ storage: s }) {
      await s.setItem('text:a.txt', 'héllo wörld ✓')
      assert.equal(await s.getItem('text:a.txt'), 'héllo wörld ✓')
      assert.equal(await s.hasItem('text:a.txt'), true)
      await s.setItem('text:j.json', { a: 1, b: [1, 'two'] })
      assert.deepEqual(await s.getItem('text:j.json'), { a: 1, b: [1, 'two'] })
      await s.setItem('text:empty', '')
      assert.equal(await s.hasItem('text:empty'), true, 'an empty text is an item')
      assert.equal(await s.getItem('text:empty'), '')
      assert.equal(await s.getItem('text:missing'), null)
      assert.equal(await s.hasItem('text:missing'), false)
      await s.removeItem('text:a.txt')
      assert.equal(await s.hasItem('text:a.txt'), false)
      assert.equal(await s.getItem('text:a.txt'), null)
      await s.removeItem('text:a.txt') // removing what is gone is not an error
    },
  },
  {
    name: 'raw values: bytes round-trip exactly (Buffer, Uint8Array views, empty, 4 MB)',
    async run({ storage: s }) {
      const big = randomBytes(4 * 1024 * 1024)
      await s.setItemRaw('raw:big.bin', big)
      assert.ok(bytesOf(await s.getItemRaw('raw:big.bin')).equals(big), 'the 4 MB value came back different')
      const backing = new Uint8Array([9, 8, 7, 6, 5, 4, 3])
      await s.setItemRaw('raw:view.bin', backing.subarray(2, 5))
      assert.deepEqual([...bytesOf(await s.getItemRaw('raw:view.bin'))], [7, 6, 5], 'a view stores its own bytes, not its buffer')
      await s.setItemRaw('raw:empty.bin', new Uint8Array(0))
      assert.equal(await s.hasItem('raw:empty.bin'), true, 'empty bytes are an item')
      assert.equal(bytesOf(await s.getItemRaw('raw:empty.bin')).byteLength, 0)
      assert.equal(await s.getItemRaw('raw:missing.bin'), null, 'a missing raw item is null, not an error')
      await s.removeItem('raw:big.bin')
      assert.equal(await s.getItemRaw('raw:big.bin'), null)
    },
  },
  {
    name: 'keys: ":" and "/" separate the same nested segments; other characters are kept',
    async run({ storage: s }) {
      await s.setItem('keys/a/b:c/d.json', 'nested')
      assert.equal(await s.getItem('keys:a:b:c:d.json'), 'nested')
      assert.equal(await s.hasItem('keys/a/b/c/d.json'), true)
      const odd = 'keys:odd:sp ace#1%2e%2e ü.txt'
      await s.setItem(odd, 'odd')
      assert.equal(await s.getItem(odd), 'odd')
      assert.deepEqual(sorted(await s.getKeys('keys')), ['keys:a:b:c:d.json', odd])
    },
  },
  {
    name: 'getKeys(base) lists exactly the keys under base, nothing beside it',
    async run({ storage: s }) {
      for (const key of ['list:runs:r1:a', 'list:runs:r2:b', 'list:runsX:c', 'list:run', 'list:other:runs:d']) await s.setItem(key, 'x')
      assert.deepEqual(sorted(await s.getKeys('list:runs')), ['list:runs:r1:a', 'list:runs:r2:b'])
      assert.deepEqual(sorted(await s.getKeys('list/runs/')), ['list:runs:r1:a', 'list:runs:r2:b'])
      assert.deepEqual(await s.getKeys('list:runs:r1'), ['list:runs:r1:a'])
      assert.deepEqual(await s.getKeys('list:nothing'), [])
      assert.deepEqual(sorted(await s.getKeys('list')), [
        'list:other:runs:d',
        'list:run',
        'list:runs:r1:a',
        'list:runs:r2:b',
        'list:runsX:c',
      ])
    },
  },
  {
    name: 'hasItem and getItem see items, not the folders that hold them',
    async run({ storage: s }) {
      await s.setItem('folder:inner:x.json', 'x')
      assert.equal(await s.hasItem('folder:inner'), false, 'a prefix of an item is not an item')
      assert.equal(await s.hasItem('folder'), false)
      assert.equal(await s.getItem('folder:inner'), null)
      assert.equal(await s.getItemRaw('folder:inner'), null)
    },
  },
  {
    name: 'getMeta gives the modification time, and the size where the path has it',
    async run({ storage: s, capabilities }) {
      const res = capabilities.mtimeResolutionMs
      const before = Date.now()
      await s.setItemRaw('meta:x.bin', new Uint8Array(1234).fill(1))
      const after = Date.now()
      const meta = await s.getMeta('meta:x.bin')
      assert.ok(meta.mtime instanceof Date, `getMeta should give an mtime Date, got ${JSON.stringify(meta)}`)
      // Margins: the mtime's own resolution, plus a second of clock granularity between the test and the filesystem.
      const mtime = meta.mtime.getTime()
      assert.ok(mtime >= before - res - 1000 && mtime <= after + 1000, `mtime ${meta.mtime.toISOString()} outside the write's window`)
      if (capabilities.metaSize) assert.equal(meta.size, 1234)
      else assert.equal(meta.size, undefined, 'this path was declared to have no size in getMeta; it has one now: update its capabilities')
      const missing = await s.getMeta('meta:missing')
      assert.equal(missing.mtime, undefined, 'a missing item has no mtime (and is not an error)')
    },
  },
  {
    name: 'overwrite is atomic: a concurrent reader sees the old or the new value, never a mix',
    async run({ storage: s }) {
      const a = Buffer.alloc(2 * 1024 * 1024, 0xa1)
      const b = Buffer.alloc(3 * 1024 * 1024, 0xb2)
      await s.setItemRaw('atomic:v.bin', a)
      let writing = true
      const writer = (async () => {
        try {
          for (let i = 0; i < 12; i++) await s.setItemRaw('atomic:v.bin', i % 2 ? a : b)
        } finally {
          writing = false
        }
      })()
      let reads = 0
      const reader = (async () => {
        while (writing) {
          const seen = bytesOf(await s.getItemRaw('atomic:v.bin'))
          reads++
          assert.ok(
            seen.equals(a) || seen.equals(b),
            `read ${reads} saw ${seen.byteLength} bytes that are neither the old nor the new value`,
          )
        }
      })()
      await Promise.all([writer, reader])
      assert.ok(reads >= 2, `the reader ran ${reads} time(s) while writing; the check needs reads during the writes`)
      assert.ok(bytesOf(await s.getItemRaw('atomic:v.bin')).equals(a), 'the last write wins')
    },
  },
  {
    name: 'removing the last item of a folder leaves no empty folder behind, and stops at a folder with items',
    needs: 'root',
    async run({ storage: s, root }) {
      await s.setItem('prune:keep', 'x')
      await s.setItem('prune:a:b:item', 'x')
      await s.removeItem('prune:a:b:item')
      assert.equal(existsSync(join(root!, 'prune', 'a')), false, 'prune/a/b and prune/a are empty and must be gone')
      assert.equal(existsSync(join(root!, 'prune', 'keep')), true, 'prune/ still holds keep')
      await s.removeItem('prune:keep')
      assert.equal(existsSync(join(root!, 'prune')), false, 'prune/ is empty now and must be gone')
    },
  },
  {
    name: 'clear(base) removes exactly the keys under base',
    async run({ storage: s }) {
      for (const key of ['clear:c:1', 'clear:c:d:2', 'clear:cx:3', 'clear:other:4', 'clearX:keep']) await s.setItem(key, 'x')
      await s.clear('clear:c')
      assert.deepEqual(sorted(await s.getKeys('clear')), ['clear:cx:3', 'clear:other:4'])
      await s.clear('clear')
      assert.deepEqual(await s.getKeys('clear'), [])
      assert.equal(await s.hasItem('clearX:keep'), true, 'clear("clear") must not touch "clearX"')
    },
  },
  {
    name: 'refused keys (traversal, control characters) are errors, never escapes',
    async run({ storage: s, root }) {
      const tag = `escape-${randomBytes(4).toString('hex')}`
      for (const key of [`refused:..:..:${tag}`, `../${tag}`, `refused/../../${tag}`, `..\\${tag}`]) {
        await refusal(s.setItem(key, 'x'), `writing ${JSON.stringify(key)}`)
        await refusal(s.setItemRaw(key, new Uint8Array([1])), `writing raw ${JSON.stringify(key)}`)
        const read = await s.getItem(key).catch(() => null)
        assert.equal(read, null, `reading ${JSON.stringify(key)} must not give a value`)
      }
      if (root)
        for (const up of ['..', '../..']) assert.equal(existsSync(join(root, up, tag)), false, `${tag} was written outside the mount`)
      for (const key of ['refused:nul\u0000x', 'refused:bell\u0007x'])
        await refusedWith4xx(s.setItem(key, 'x'), `writing ${JSON.stringify(key)}`)
      // An absolute-looking key is a key like any other: it lands inside the mount.
      const outside = root ? dirname(root) : '/tmp'
      const absolute = `${outside}/${tag}-abs`
      await s.setItem(absolute, 'inside')
      assert.equal(await s.getItem(absolute), 'inside')
      assert.equal(existsSync(absolute), false, `${absolute} was written outside the mount`)
      await s.removeItem(absolute)
    },
  },
  {
    name: 'a read-only view refuses every write (4xx) and changes nothing',
    needs: 'readOnly',
    async run({ storage: s, readOnly }) {
      const ro = readOnly!
      await s.setItem('ro:keep', 'v1')
      assert.equal(await ro.getItem('ro:keep'), 'v1', 'the read-only view reads the same items')
      await refusedWith4xx(ro.setItem('ro:keep', 'v2'), 'overwriting through the read-only view')
      await refusedWith4xx(ro.setItemRaw('ro:keep', new Uint8Array([1])), 'writing raw through the read-only view')
      await refusedWith4xx(ro.setItem('ro:new', 'x'), 'creating through the read-only view')
      await refusedWith4xx(ro.removeItem('ro:keep'), 'removing through the read-only view')
      await refusedWith4xx(ro.clear('ro'), 'clearing a prefix through the read-only view')
      await refusedWith4xx(ro.clear(), 'clearing everything through the read-only view')
      assert.equal(await s.getItem('ro:keep'), 'v1')
      assert.equal(await s.hasItem('ro:new'), false)
    },
  },
  {
    name: 'a write that fails halfway (disk full) answers 507, keeps the old value and leaves no temporary file',
    needs: 'root',
    async run({ storage: s, root }) {
      const old = Buffer.alloc(64 * 1024, 1)
      await s.setItemRaw('full:x.bin', old)
      const restore = injectFullDisk(root!)
      let error: unknown
      try {
        error = await refusal(s.setItemRaw('full:x.bin', Buffer.alloc(1024 * 1024, 2)), 'a write onto a full disk')
      } finally {
        restore()
      }
      assert.equal(statusOf(error), 507, `expected 507, got ${statusOf(error)}: ${String(error)}`)
      assert.equal(codeOf(error), 'STORAGE_FULL')
      assert.ok(bytesOf(await s.getItemRaw('full:x.bin')).equals(old), 'the old value must survive a failed overwrite')
      assert.deepEqual(await tempLeftovers(root!), [])
    },
  },
]

/** Runs one check by name (throws when the target breaks it, or when the target lacks what the check needs). */
export async function runStorageContractCheck(name: string, target: StorageContractTarget): Promise<void> {
  const check = STORAGE_CONTRACT.find((c) => c.name === name || c.name.startsWith(name))
  if (!check) throw new Error(`No storage contract check named ${JSON.stringify(name)}`)
  if (check.needs && target[check.needs] === null) throw new Error(`The target has no ${check.needs} for ${JSON.stringify(check.name)}`)
  await check.run(target)
}

/** Registers every contract check as a vitest test against the storage `setup` gives (one setup for the whole suite). */
export function describeStorageContract(name: string, setup: () => Promise<StorageContractTarget>): void {
  describe(`storage contract: ${name}`, () => {
    let target: StorageContractTarget | undefined
    beforeAll(async () => {
      target = await setup()
    })
    afterAll(async () => {
      await target?.close?.()
    })
    for (const check of STORAGE_CONTRACT) {
      it(check.name, async (ctx) => {
        if (check.needs && target![check.needs] === null) return ctx.skip(`${name} declares no ${check.needs}`)
        await check.run(target!)
      })
    }
  })
}
