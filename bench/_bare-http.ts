// The ceiling row of the durable-accept bench: a node:http server that does nothing but read the
// JSON body and answer 202 with a small JSON object, in its own process. No HTTP API on Node can
// accept faster from the same client on the same machine. Started by peers.bench.ts; sends its port.
import http from 'node:http'

const server = http.createServer((req, res) => {
  let body = ''
  req.setEncoding('utf8')
  req.on('data', (chunk: string) => (body += chunk))
  req.on('end', () => {
    JSON.parse(body)
    const answer = JSON.stringify({ operation_id: 'op_bare', status: 'pending', created_at: new Date().toISOString() })
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer)
  })
})
server.listen(0, '127.0.0.1', () => process.send?.((server.address() as { port: number }).port))
process.once('disconnect', () => server.close(() => process.exit(0)))
