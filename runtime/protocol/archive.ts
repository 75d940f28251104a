import { createHash } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import { parseTar, type ParsedTarFileItem } from 'nanotar'
import { createTarBytes } from './_tar.ts'
import { KtrdrError } from './errors.ts'

export interface ArchiveFile {
  name: string
  data: Uint8Array
  mode?: string
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * Deterministic tar.gz: entries sorted by name, mtime/uid/gid 0 (the same files always give the
 * same bytes: the sha256 is the version's identity), long names as GNU long-name entries, gzip header without a
 * timestamp (node's zlib writes mtime 0). Same input files → same bytes → same sha256.
 */
export function packArchive(files: ArchiveFile[]): Uint8Array {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const tar = createTarBytes(sorted.map((f) => ({ name: f.name, data: f.data, mode: f.mode ?? '644' })))
  return new Uint8Array(gzipSync(tar, { level: 9 }))
}

export interface UnpackOptions {
  /** Refuse archives that inflate past this many bytes (zip bombs). Default 1 GiB. */
  maxUnpackedBytes?: number
}

/**
 * Parses a bundle archive and returns its regular files. Throws a 422 KtrdrError for anything
 * that is not a clean tar.gz of relative paths, so a bad upload can never write outside its dir.
 */
export function unpackArchive(archive: Uint8Array, options: UnpackOptions = {}): ArchiveFile[] {
  let tar: Buffer
  try {
    tar = gunzipSync(archive, { maxOutputLength: options.maxUnpackedBytes ?? 1024 ** 3 })
  } catch (cause) {
    throw new KtrdrError({
      code: 'BUNDLE_CORRUPT',
      cause,
      message: `Bundle archive is not a valid tar.gz (${(cause as Error).message}); rebuild it with \`ktrdr fn build\``,
    })
  }
  let items: ParsedTarFileItem[]
  try {
    items = parseTar(tar) as ParsedTarFileItem[]
  } catch (cause) {
    throw new KtrdrError({
      code: 'BUNDLE_CORRUPT',
      cause,
      message: `Bundle archive is not a valid tar (${(cause as Error).message})`,
    })
  }
  const files: ArchiveFile[] = []
  for (const item of items) {
    if (item.type && item.type !== 'file') continue
    const name = item.name.replace(/^\.\//, '')
    if (!name || name.startsWith('/') || name.split('/').includes('..') || name.includes('\\') || name.includes('\0')) {
      throw new KtrdrError({
        code: 'BUNDLE_CORRUPT',
        message: `Bundle archive contains an unsafe path ${JSON.stringify(item.name)}`,
      })
    }
    files.push({ name, data: item.data ?? new Uint8Array(), mode: item.attrs?.mode })
  }
  if (files.length === 0) {
    throw new KtrdrError({ code: 'BUNDLE_CORRUPT', message: 'Bundle archive is empty' })
  }
  return files
}
