// A request node's HTTP parser refuses gets the host's JSON error body (one error shape with the
// gateway's), not node's bare "400 Bad Request"; a request before it on the connection is answered.
import net from 'node:net'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { tempStorage } from '../../../test/kit/index.ts'
import { createHost } from '../index.ts'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

it('answers bytes after a good request on a keep-alive connection with a JSON 400, then closes it', async () => {
  const env = await tempStorage('ktrdr-client-error-')
  cleanups.push(env.cleanup)
  const host = await createHost({
    apiUrl: null,
    port: 0,
    storage: { root: env.storageRoot },
    cacheDir: join(env.root, 'cache'),
    clusterToken: null,
    detectGpu: false,
    logLevel: 'error',
  })
  cleanups.push(() => host.close())
  const socket = net.connect(Number(new URL(host.url).port), '127.0.0.1')
  let text = ''
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => (text += d))
  const closed = new Promise((resolve, reject) => {
    socket.on('close', resolve)
    socket.on('error', reject)
  })
  socket.write('GET /health HTTP/1.1\r\nhost: x\r\n\r\nGET /health HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n')
  await closed
  const answers = text.split(/(?=HTTP\/1\.1 )/)
  expect(answers).toHaveLength(2)
  expect(answers[0]).toMatch(/^HTTP\/1\.1 200 /)
  const [head, body] = answers[1]!.split('\r\n\r\n')
  expect(head).toMatch(/^HTTP\/1\.1 400 /)
  expect(head!.toLowerCase()).toContain('connection: close')
  expect(JSON.parse(body!)).toMatchObject({
    code: 'MALFORMED_HTTP',
    statusCode: 400,
    details: { parser_code: 'HPE_UNEXPECTED_CONTENT_LENGTH' },
  })
})
