// A pre-started Node process that waits to become an executor: the host sends it the path of a
// bundle entry and it imports it. This takes Node's own start-up (~50–60 ms) off a cold start,
// the way pre-warmed pools do. Plain JS: it runs without any TypeScript loader.
import { pathToFileURL } from 'node:url'

process.once('message', (message) => {
  if (!message || message.type !== 'load') process.exit(1)
  process.chdir(message.dir)
  Object.assign(process.env, message.env)
  import(pathToFileURL(message.entry).href).catch((error) => {
    console.error(error)
    process.exit(1)
  })
})
process.on('disconnect', () => process.exit(0))
// Node's own modules every bundle imports (the executor's storage, logging and IPC code): compiled
// here while the spare waits, not during a cold start (~10 ms of the bundle import's ~35 ms).
const BUILTINS = [
  'node:crypto',
  'node:events',
  'node:fs',
  'node:fs/promises',
  'node:http',
  'node:https',
  'node:os',
  'node:path',
  'node:stream',
  'node:tty',
  'node:url',
  'node:util',
]
Promise.all(BUILTINS.map((name) => import(name).catch(() => null))).finally(() => process.send({ type: 'spare' }))
