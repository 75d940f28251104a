/**
 * Why a request got no answer, in the words an operator looks for in the journal ("Connection
 * refused", a DNS failure, a timeout) with the system code beside them. node:http rejects with the
 * socket's error; Node's fetch (undici, under ofetch) reports every one of these as "fetch failed"
 * and keeps the reason in `error.cause`, sometimes one level deeper or as an AggregateError of one
 * attempt per address.
 */
export function describeNetworkError(error: unknown): string {
  const chain: Array<Error & Partial<NodeJS.ErrnoException> & { hostname?: string; address?: string; port?: number }> = []
  for (let e = error as (Error & { cause?: unknown }) | undefined; e && chain.length < 8; e = e.cause as typeof e) {
    chain.push(e as (typeof chain)[number])
    const inner = (e as unknown as AggregateError).errors
    if (Array.isArray(inner) && inner.length) {
      chain.push(...(inner as typeof chain))
      break
    }
  }
  const coded = chain.find((e) => typeof e.code === 'string')
  const timeout = chain.find((e) => e.name === 'TimeoutError')
  if (coded) {
    const where = [coded.address ?? coded.hostname, coded.port].filter((x) => x !== undefined && x !== '').join(':')
    const tag = `${coded.code}${where ? ` ${where}` : ''}`
    switch (coded.code) {
      case 'ECONNREFUSED':
        return `Connection refused (${tag}): nothing listens there`
      case 'ENOTFOUND':
        return `DNS failure (${tag}): the name does not resolve`
      case 'EAI_AGAIN':
        return `DNS failure (${tag}): the resolver did not answer (temporary)`
      case 'ETIMEDOUT':
        // Without an address it is a whole-request timer (the host's JSON poster), not the connect
        // syscall's: its message says how long nothing answered.
        return where ? `Connection timed out (${tag})` : `Timed out: ${coded.message}`
      case 'UND_ERR_CONNECT_TIMEOUT':
        return `Connection timed out (${tag})`
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
        return `Timed out waiting for the answer (${tag})`
      case 'EHOSTUNREACH':
        return `No route to host (${tag})`
      case 'ENETUNREACH':
        return `Network is unreachable (${tag})`
      case 'ECONNRESET':
      case 'UND_ERR_SOCKET':
        return `Connection reset (${tag})`
      default:
        return `${coded.message} (${tag})`
    }
  }
  if (timeout) return `Timed out: no answer (${timeout.message})`
  const innermost = chain.at(-1)
  return innermost?.message || String(error)
}
