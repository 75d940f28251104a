import { writeFile } from 'node:fs/promises'
import { mulberry32 } from '../index.ts'

/**
 * A tiny but valid llama-architecture GGUF (format v3) with random, seeded weights and a byte
 * vocabulary, written by our own code: no model weights can be downloaded from these machines, and
 * tests, CI and `ktrdr llm make-test-model` still need a real model to load, tokenize and sample
 * from. llama.cpp loads it (~12 ms) and generates under a grammar like any model; what it writes
 * outside a grammar is noise.
 *
 * Vocabulary (260 tokens, SentencePiece "llama" model): 0 `<unk>`, 1 `<s>`, 2 `</s>`, 3…258 the
 * byte-fallback tokens `<0x00>`…`<0xFF>`, 259 `▁` (SentencePiece's space). Every text tokenizes
 * into bytes, so any UTF-8 output is reachable.
 */
export interface TinyGgufOptions {
  /** Seed of the weights: same seed, same file (byte for byte). Default 1. */
  seed?: number
  /** Transformer blocks. Default 2. */
  layers?: number
  /** Embedding width. Default 64. */
  width?: number
  /** Attention heads (width must divide by it). Default 4. */
  heads?: number
  /** Feed-forward width. Default 2 × width. */
  feedForward?: number
  /** Trained context length advertised in the metadata. Default 4096. */
  contextLength?: number
  /** general.name. Default "ktrdr-tiny-test". */
  name?: string
  /**
   * false: every attention output weight is zero (the other weights are those of the same seed), so
   * a token's logits depend on that token alone and what the model writes depends on the sampling
   * seed, not on the prompt. Tests whose prompts carry ids and times (memory of earlier runs) need
   * that to get the same output on every run. Default true.
   */
  attention?: boolean
}

const GGUF_MAGIC = 0x46554747 // "GGUF" little-endian
const GGUF_VERSION = 3
const ALIGNMENT = 32

// GGUF metadata value types.
const T_UINT32 = 4
const T_INT32 = 5
const T_FLOAT32 = 6
const T_STRING = 8
const T_ARRAY = 9

// ggml tensor type F32.
const GGML_F32 = 0

// llama.cpp's token types.
const TOKEN_NORMAL = 1
const TOKEN_UNKNOWN = 2
const TOKEN_CONTROL = 3
const TOKEN_BYTE = 6

type MetaValue =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'string'; value: string }
  | { type: 'strings'; value: string[] }
  | { type: 'f32s'; value: number[] }
  | { type: 'i32s'; value: number[] }

interface Tensor {
  name: string
  /** ggml order: dims[0] is the fastest-varying (a row). */
  dims: number[]
  data: Float32Array
}

/** Bytes a growing little-endian buffer. */
class Writer {
  private chunks: Buffer[] = []
  size = 0
  private push(b: Buffer) {
    this.chunks.push(b)
    this.size += b.length
  }
  u32(v: number) {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(v)
    this.push(b)
  }
  i32(v: number) {
    const b = Buffer.alloc(4)
    b.writeInt32LE(v)
    this.push(b)
  }
  u64(v: number) {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(BigInt(v))
    this.push(b)
  }
  f32(v: number) {
    const b = Buffer.alloc(4)
    b.writeFloatLE(v)
    this.push(b)
  }
  str(s: string) {
    const b = Buffer.from(s, 'utf8')
    this.u64(b.length)
    this.push(b)
  }
  bytes(b: Buffer) {
    this.push(b)
  }
  pad(alignment: number) {
    const rest = this.size % alignment
    if (rest) this.push(Buffer.alloc(alignment - rest))
  }
  done(): Uint8Array {
    return Buffer.concat(this.chunks, this.size)
  }
}

function writeMeta(w: Writer, key: string, meta: MetaValue) {
  w.str(key)
  switch (meta.type) {
    case 'u32':
      w.u32(T_UINT32)
      w.u32(meta.value)
      return
    case 'f32':
      w.u32(T_FLOAT32)
      w.f32(meta.value)
      return
    case 'string':
      w.u32(T_STRING)
      w.str(meta.value)
      return
    case 'strings':
      w.u32(T_ARRAY)
      w.u32(T_STRING)
      w.u64(meta.value.length)
      for (const s of meta.value) w.str(s)
      return
    case 'f32s':
      w.u32(T_ARRAY)
      w.u32(T_FLOAT32)
      w.u64(meta.value.length)
      for (const v of meta.value) w.f32(v)
      return
    case 'i32s':
      w.u32(T_ARRAY)
      w.u32(T_INT32)
      w.u64(meta.value.length)
      for (const v of meta.value) w.i32(v)
  }
}

/** The 260-token byte vocabulary (see the module comment). */
export function tinyVocabulary(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>']
  const types = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL]
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)
    types.push(TOKEN_BYTE)
  }
  tokens.push('\u2581')
  types.push(TOKEN_NORMAL)
  return { tokens, scores: tokens.map(() => 0), types }
}

/** The GGUF file's bytes. Deterministic for given options. */
export function encodeTinyLlamaGguf(options: TinyGgufOptions = {}): Uint8Array {
  const layers = options.layers ?? 2
  const width = options.width ?? 64
  const heads = options.heads ?? 4
  const ff = options.feedForward ?? width * 2
  if (width % heads !== 0) throw new RangeError(`width ${width} must be a multiple of heads ${heads}`)
  const vocab = tinyVocabulary()
  const nVocab = vocab.tokens.length
  const random = mulberry32(options.seed ?? 1)
  // Small weights (±0.1 scaled by fan-in) keep activations finite through the blocks.
  const weights = (n: number, fanIn: number) => {
    const a = new Float32Array(n)
    const scale = 1 / Math.sqrt(fanIn)
    for (let i = 0; i < n; i++) a[i] = (random() * 2 - 1) * scale
    return a
  }
  const ones = (n: number) => new Float32Array(n).fill(1)
  const attentionOut = () => {
    const a = weights(width * width, width) // drawn either way: the other tensors keep their values
    return options.attention === false ? a.fill(0) : a
  }

  const tensors: Tensor[] = [{ name: 'token_embd.weight', dims: [width, nVocab], data: weights(width * nVocab, width) }]
  for (let i = 0; i < layers; i++) {
    tensors.push(
      { name: `blk.${i}.attn_norm.weight`, dims: [width], data: ones(width) },
      { name: `blk.${i}.attn_q.weight`, dims: [width, width], data: weights(width * width, width) },
      { name: `blk.${i}.attn_k.weight`, dims: [width, width], data: weights(width * width, width) },
      { name: `blk.${i}.attn_v.weight`, dims: [width, width], data: weights(width * width, width) },
      { name: `blk.${i}.attn_output.weight`, dims: [width, width], data: attentionOut() },
      { name: `blk.${i}.ffn_norm.weight`, dims: [width], data: ones(width) },
      { name: `blk.${i}.ffn_gate.weight`, dims: [width, ff], data: weights(width * ff, width) },
      { name: `blk.${i}.ffn_up.weight`, dims: [width, ff], data: weights(width * ff, width) },
      { name: `blk.${i}.ffn_down.weight`, dims: [ff, width], data: weights(ff * width, ff) },
    )
  }
  tensors.push(
    { name: 'output_norm.weight', dims: [width], data: ones(width) },
    { name: 'output.weight', dims: [width, nVocab], data: weights(width * nVocab, width) },
  )

  const meta: Array<[string, MetaValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: options.name ?? 'ktrdr-tiny-test' }],
    ['general.alignment', { type: 'u32', value: ALIGNMENT }],
    ['general.file_type', { type: 'u32', value: 0 }], // all F32
    ['llama.context_length', { type: 'u32', value: options.contextLength ?? 4096 }],
    ['llama.embedding_length', { type: 'u32', value: width }],
    ['llama.block_count', { type: 'u32', value: layers }],
    ['llama.feed_forward_length', { type: 'u32', value: ff }],
    ['llama.rope.dimension_count', { type: 'u32', value: width / heads }],
    ['llama.attention.head_count', { type: 'u32', value: heads }],
    ['llama.attention.head_count_kv', { type: 'u32', value: heads }],
    // Required by llama.cpp's llama loader (it refuses the file without it).
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['llama.vocab_size', { type: 'u32', value: nVocab }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'strings', value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: 'f32s', value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: 'i32s', value: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 2 }],
  ]

  const w = new Writer()
  w.u32(GGUF_MAGIC)
  w.u32(GGUF_VERSION)
  w.u64(tensors.length)
  w.u64(meta.length)
  for (const [key, value] of meta) writeMeta(w, key, value)
  let offset = 0
  for (const t of tensors) {
    w.str(t.name)
    w.u32(t.dims.length)
    for (const d of t.dims) w.u64(d)
    w.u32(GGML_F32)
    w.u64(offset)
    offset += Math.ceil(t.data.byteLength / ALIGNMENT) * ALIGNMENT
  }
  w.pad(ALIGNMENT)
  for (const t of tensors) {
    w.bytes(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))
    w.pad(ALIGNMENT)
  }
  return w.done()
}

/** Writes the tiny model to `path` and returns its size in bytes. */
export async function writeTinyLlamaGguf(path: string, options: TinyGgufOptions = {}): Promise<number> {
  const bytes = encodeTinyLlamaGguf(options)
  await writeFile(path, bytes)
  return bytes.byteLength
}
