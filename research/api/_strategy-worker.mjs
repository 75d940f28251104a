// Worker thread that validates strategies off the gateway's event loop (see _strategy-validator.ts).
// Plain JavaScript so Node can start it as it is; the trading core is TypeScript, loaded through
// tsx when nothing has registered a loader in this thread.
import { parentPort } from 'node:worker_threads'

const CORE = new URL('../../trading/index.ts', import.meta.url).href
// A failed import is cached per URL, so register the loader first rather than retry after failing.
try {
  const { register } = await import('tsx/esm/api')
  register()
} catch {
  // No tsx (a deployment that ships compiled JavaScript): import what is there.
}
const core = await import(CORE)

const summary = (r) => ({
  valid: r.valid,
  errors: r.errors,
  warnings: r.warnings,
  notes: r.notes,
  resolved_features: r.resolved_features,
  strategy: r.strategy,
})

parentPort.on('message', ({ id, source, options, upload }) => {
  try {
    if (upload) {
      const { validation, registered } = core.prepareStrategyUpload(source, options)
      parentPort.postMessage({ id, result: { validation: summary(validation), ...(registered ? { registered } : {}) } })
    } else parentPort.postMessage({ id, result: summary(core.validateStrategy(source, options ?? {})) })
  } catch (error) {
    const coded = core.isKtrdrError(error) ? { code: error.code, details: error.details } : {}
    parentPort.postMessage({ id, error: String(error?.message ?? error), ...coded })
  }
})
parentPort.postMessage({ ready: true })
