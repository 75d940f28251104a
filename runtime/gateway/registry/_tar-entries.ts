import { createReadStream } from 'node:fs'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { KtrdrError, type ArchiveFile } from '../../protocol/index.ts'

const MAX_MANIFEST_BYTES = 1024 * 1024
const MAX_EXTENDED_HEADER_BYTES = 64 * 1024

const corrupt = (message: string) => new KtrdrError({ code: 'BUNDLE_CORRUPT', message })

/**
 * A bundle's regular files, read from a tar.gz on disk in one streaming pass: names for all of
 * them, contents for manifest.json only (the others come back empty). Names as the hosts'
 * unpackArchive (nanotar) gives them — the header name, a pax `path` or a GNU long name — and
 * refused where it refuses (not a tar.gz, unsafe paths, no files), plus any `..` segment and
 * archives inflating past `maxUnpackedBytes`. Gunzip runs on libuv's thread pool; the walker
 * keeps one partial header at most, so a 500 MB archive costs the event loop little and memory less.
 */
export async function readArchiveEntries(path: string, maxUnpackedBytes = 1024 ** 3): Promise<ArchiveFile[]> {
  const walker = createTarWalker(maxUnpackedBytes)
  try {
    // 256 KB reads and inflated chunks: a 64 MB bundle is about 256 callbacks on the event loop, not
    // the 4,096 of zlib's default 16 KB.
    await pipeline(createReadStream(path, { highWaterMark: 256 * 1024 }), createGunzip({ chunkSize: 256 * 1024 }), walker.stream)
  } catch (error) {
    if (error instanceof KtrdrError) throw error
    throw corrupt(`Bundle archive is not a valid tar.gz (${(error as Error).message}); rebuild it with \`ktrdr fn build\``)
  }
  if (walker.files.length === 0) throw corrupt('Bundle archive is empty')
  return walker.files
}

function cString(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start)
  return block.toString('utf8', start, end === -1 || end > start + length ? start + length : end)
}

function createTarWalker(maxUnpackedBytes: number) {
  const files: ArchiveFile[] = []
  let pending: Buffer = Buffer.alloc(0)
  let inflated = 0
  let done = false
  // The entry being read: data bytes still to skip or collect, then its padding to 512.
  let remaining = 0
  let padding = 0
  let collected: Buffer[] | null = null
  let onCollected: ((data: Buffer) => void) | null = null
  let nextName: string | undefined

  function header(block: Buffer) {
    // An empty name ends the archive, as for nanotar (the end-of-archive blocks are all zeros).
    if (block[0] === 0) {
      done = true
      return
    }
    let name = cString(block, 0, 100)
    if (block[124]! & 0x80) throw corrupt('Bundle archive has an entry over 8 GB (base-256 size)')
    const size = Number.parseInt(cString(block, 124, 12).trim() || '0', 8)
    if (!Number.isFinite(size) || size < 0) throw corrupt(`Bundle archive has a bad size field near ${JSON.stringify(name.slice(0, 100))}`)
    const type = String.fromCharCode(block[156] || 0x30)
    remaining = size
    padding = (512 - (size % 512)) % 512
    collected = null
    onCollected = null
    if (type === 'x' || type === 'g' || type === 'L' || type === 'N' || type === 'K') {
      if (size > MAX_EXTENDED_HEADER_BYTES) throw corrupt(`Bundle archive has an extended header of ${size} bytes`)
      collected = []
      onCollected = (data) => {
        if (type === 'x') {
          const fields = Object.fromEntries(
            data
              .toString('utf8')
              .split('\n')
              .map((line) => /^\d+ ([^=]+)=(.*)$/.exec(line))
              .filter((m) => m !== null)
              .map((m) => [m[1], m[2]]),
          )
          nextName = fields.path || fields.linkpath || nextName
        } else if (type !== 'g') nextName = cString(data, 0, data.length)
      }
      return
    }
    if (nextName !== undefined) {
      name = nextName
      nextName = undefined
    }
    // Regular files only, as unpackArchive keeps them; links, directories and devices are skipped.
    if (type !== '0') return
    const clean = name.replace(/^\.\//, '')
    if (!clean || clean.startsWith('/') || clean.split('/').includes('..') || clean.includes('\\') || clean.includes('\0'))
      throw corrupt(`Bundle archive contains an unsafe path ${JSON.stringify(name.slice(0, 200))}`)
    const file: ArchiveFile = { name: clean, data: new Uint8Array() }
    files.push(file)
    if (clean === 'manifest.json') {
      if (size > MAX_MANIFEST_BYTES) throw corrupt(`Bundle manifest.json is ${size} bytes: at most ${MAX_MANIFEST_BYTES}`)
      collected = []
      onCollected = (data) => {
        file.data = new Uint8Array(data)
      }
    }
  }

  function consume(chunk: Buffer) {
    const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk
    let offset = 0
    while (!done) {
      if (remaining > 0) {
        const take = Math.min(remaining, buf.length - offset)
        if (take === 0) break
        collected?.push(Buffer.from(buf.subarray(offset, offset + take)))
        remaining -= take
        offset += take
      } else if (collected) {
        onCollected?.(Buffer.concat(collected))
        collected = null
        onCollected = null
      } else if (padding > 0) {
        const take = Math.min(padding, buf.length - offset)
        if (take === 0) break
        padding -= take
        offset += take
      } else if (buf.length - offset >= 512) {
        header(buf.subarray(offset, offset + 512))
        offset += 512
      } else break
    }
    pending = done ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset))
  }

  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      inflated += chunk.length
      if (inflated > maxUnpackedBytes) return callback(corrupt(`Bundle archive inflates past ${maxUnpackedBytes} bytes`))
      try {
        consume(chunk)
      } catch (error) {
        return callback(error as Error)
      }
      callback()
    },
    final(callback) {
      if (!done && (remaining > 0 || padding > 0 || pending.length > 0)) return callback(corrupt('Bundle archive is truncated'))
      callback()
    },
  })
  return { stream, files }
}
