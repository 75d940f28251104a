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
process.send({ type: 'spare' })
