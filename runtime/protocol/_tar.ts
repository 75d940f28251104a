/**
 * A deterministic ustar writer: the same header bytes nanotar writes for names up to 100 bytes, plus
 * a GNU long-name entry (`././@LongLink`, type L) before any longer one. nanotar's createTar cut
 * longer names at 100 bytes, so deep paths (node-llama-cpp's dependencies have 120-byte ones) came
 * out as a directory name with the file's bytes; parseTar (nanotar) reads type L back.
 */
export interface TarEntry {
  name: string
  data: Uint8Array
  mode: string
}

const enc = new TextEncoder()

function put(buffer: Uint8Array, str: string, offset: number, size: number) {
  const view = buffer.subarray(offset, offset + size)
  const { written } = enc.encodeInto(str, view)
  view.fill(0, written)
}

function header(buffer: Uint8Array, offset: number, name: string, mode: string, size: number, type: '0' | 'L') {
  put(buffer, name, offset, 100)
  put(buffer, mode.padStart(7, '0'), offset + 100, 8)
  put(buffer, '0000000', offset + 108, 8) // uid 0
  put(buffer, '0000000', offset + 116, 8) // gid 0
  put(buffer, size.toString(8).padStart(11, '0'), offset + 124, 12)
  put(buffer, '00000000000', offset + 136, 12) // mtime 0
  put(buffer, type, offset + 156, 1)
  put(buffer, 'ustar', offset + 257, 6)
  put(buffer, '00', offset + 263, 2)
  put(buffer, '', offset + 265, 32)
  put(buffer, '', offset + 297, 32)
  put(buffer, '        ', offset + 148, 8)
  let sum = 0
  for (let i = offset; i < offset + 512; i++) sum += buffer[i]
  put(buffer, sum.toString(8), offset + 148, 8)
}

const blocks = (size: number) => 512 * Math.ceil(size / 512)

export function createTarBytes(entries: TarEntry[]): Uint8Array {
  const names = entries.map((e) => enc.encode(e.name))
  let size = 0
  entries.forEach((e, i) => {
    if (names[i].length > 100) size += 512 + blocks(names[i].length + 1)
    size += 512 + blocks(e.data.length)
  })
  const buffer = new Uint8Array(10240 * Math.ceil(size / 10240))
  let offset = 0
  entries.forEach((e, i) => {
    if (names[i].length > 100) {
      header(buffer, offset, '././@LongLink', '644', names[i].length + 1, 'L')
      buffer.set(names[i], offset + 512)
      offset += 512 + blocks(names[i].length + 1)
    }
    header(buffer, offset, e.name, e.mode, e.data.length, '0')
    buffer.set(e.data, offset + 512)
    offset += 512 + blocks(e.data.length)
  })
  return buffer
}
