import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { storageWriteError } from '../../../storage/index.ts'
import { KtrdrError } from '../../protocol/index.ts'

/** An upload written to a temporary file: its identity is the sha256 of exactly these bytes. */
export interface SpooledUpload {
  path: string
  sha256: string
  size: number
}

export interface SpoolOptions {
  /** Folder for the temporary file: the bundles mount itself when it is local, so publishing is a rename. */
  dir: string
  maxBytes: number
  tooLarge(): KtrdrError
  /** How a full disk names the destination in its 507 (never an absolute path). */
  describe: string
}

/**
 * Writes a request body to `<dir>/upload.tmp-<pid>-<8 hex>` as it arrives, hashing and counting
 * on the way: the gateway holds a chunk or two of an upload, whatever the archive's size (three
 * concurrent 200 MB uploads took it from 155 MB to 1,038 MB RSS when bodies were buffered). The
 * name is an atomic write's temporary name, so listings skip it and the start-up sweep removes it
 * after a crash; any failure (over `maxBytes`, the client going away, a full disk) removes it now.
 * Past the cap the body is paused, neither drained nor the socket destroyed: the client is pushed
 * back at once and still reads the 413, after which the connection is closed (`closeAfterAnswer`).
 * Draining it instead read 15 MB more of a refused upload while the 413 was being prepared, under load.
 */
export async function spoolUpload(body: Readable, options: SpoolOptions): Promise<SpooledUpload> {
  await fsp.mkdir(options.dir, { recursive: true })
  const path = join(options.dir, `upload.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  const hash = createHash('sha256')
  let size = 0
  try {
    await new Promise<void>((resolve, reject) => {
      // Up to 256 KB queue behind a write in flight and go out as one writev: fewer, larger writes
      // than one per 64 KB socket chunk, and the request is paused only past that.
      const file = createWriteStream(path, { flags: 'wx', highWaterMark: 256 * 1024 })
      let failed = false
      const fail = (error: unknown) => {
        if (failed) return
        failed = true
        detach()
        body.pause()
        file.destroy()
        reject(error)
      }
      const onData = (chunk: Buffer) => {
        size += chunk.length
        if (size > options.maxBytes) return fail(options.tooLarge())
        hash.update(chunk)
        // Backpressure: a disk slower than the network must not queue the upload in memory.
        if (!file.write(chunk)) {
          body.pause()
          file.once('drain', () => {
            if (!failed) body.resume()
          })
        }
      }
      const onEnd = () => {
        detach()
        file.end()
      }
      // The client went away mid-upload (a reset is an 'error', a clean close before the end a 'close').
      const onError = () => fail(incomplete())
      const onClose = () => {
        if ((body as { complete?: boolean }).complete === false) fail(incomplete())
      }
      const detach = () => {
        body.off('data', onData)
        body.off('end', onEnd)
        body.off('error', onError)
        body.off('close', onClose)
      }
      body.on('data', onData)
      body.once('end', onEnd)
      body.once('error', onError)
      body.once('close', onClose)
      // Gone before we listened (the mkdir above yields): its 'close' has already been emitted.
      if (body.destroyed && !body.readableEnded) fail(incomplete())
      file.once('error', (error) => fail(storageWriteError(error, options.describe)))
      file.once('close', () => {
        if (!failed) resolve()
      })
    })
    // On disk before anything names it: the rename that publishes it must never expose a short file after a crash.
    const handle = await fsp.open(path, 'r+')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch (error) {
    await fsp.rm(path, { force: true })
    throw error
  }
  return { path, sha256: hash.digest('hex'), size }
}

function incomplete() {
  return new KtrdrError({
    code: 'BUNDLE_INCOMPLETE',
    message: 'The upload ended before the whole archive arrived: send it again',
  })
}
