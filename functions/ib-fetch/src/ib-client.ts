import { EventName, IBApi, type Contract } from '@stoqey/ib'
import { KtrdrError } from '../../../trading/index.ts'
import { classifyIbError, IbRequestError } from './errors.ts'
import { createRequestTable, emptyBars } from './_requests.ts'
import { parseIbTime } from './timeframes.ts'

export interface IbConnectionOptions {
  host: string
  port: number
  /** Tried in order; IB error 326 (client id in use) moves to the next one. */
  clientIds: number[]
  /** Real-time limit for the TCP connect + API handshake. */
  connectTimeoutMs: number
  /** Real-time safety net for one request IB never answers. */
  requestTimeoutMs: number
}

export interface HistoricalRequest {
  contract: Contract
  endDateTime: string
  durationStr: string
  barSize: string
  whatToShow: string
  useRTH: boolean
}

/** Columnar bars of one response, in IB's order. */
export interface IbBars {
  time: number[]
  open: number[]
  high: number[]
  low: number[]
  close: number[]
  volume: number[]
}

export interface IbClient {
  readonly clientId: number
  readonly serverVersion: number
  headTimestamp(contract: Contract, whatToShow: string, useRTH: boolean, signal?: AbortSignal): Promise<number | undefined>
  historicalData(request: HistoricalRequest, signal?: AbortSignal): Promise<IbBars>
  /** Resolves at once when IB's link is up; after a 1100 waits for 1101/1102 (or rejects on disconnect/timeout). */
  waitForConnectivity(timeoutMs: number, signal?: AbortSignal): Promise<void>
  readonly connected: boolean
  close(): void
}

const CLIENT_ID_IN_USE = 326

/** Connects with the first free client id of the range. */
export async function connectIb(options: IbConnectionOptions, signal?: AbortSignal): Promise<IbClient> {
  let lastError: Error | undefined
  for (const clientId of options.clientIds) {
    signal?.throwIfAborted()
    try {
      return await connectOnce(options, clientId, signal)
    } catch (error) {
      lastError = error as Error
      if ((error as IbRequestError).ibCode !== CLIENT_ID_IN_USE) throw error
    }
  }
  throw new KtrdrError({
    code: 'IB_CLIENT_IDS_EXHAUSTED',
    cause: lastError,
    message: `Every IB client id in ${options.clientIds[0]}-${options.clientIds.at(-1)} is in use at ${options.host}:${options.port}: widen IB_CLIENT_ID or wait for other fetches to finish`,
  })
}

function connectOnce(options: IbConnectionOptions, clientId: number, signal?: AbortSignal): Promise<IbClient> {
  const ib = new IBApi({ host: options.host, port: options.port, clientId })
  const requests = createRequestTable(options.requestTimeoutMs)
  let connected = false
  let linkUp = true
  const linkWaiters = new Set<{ resolve(): void; reject(e: Error): void }>()

  const onIbMessage = (code: number, message: string, reqId: number) => {
    if (code === 1101 || code === 1102) {
      linkUp = true
      for (const w of linkWaiters) w.resolve()
      linkWaiters.clear()
      return
    }
    const kind = classifyIbError(code, message)
    if (kind === 'connectivity') {
      linkUp = false
      // IB drops the requests it was serving when its link goes: fail them so the caller retries.
      requests.failAll(new IbRequestError('connectivity', code, message))
      return
    }
    if (code === 366) return // "no historical query found": the echo of our own cancel
    const p = reqId >= 0 ? requests.take(reqId) : undefined
    if (!p) return
    if (kind === 'no_data' && p.kind === 'hist') p.resolve(emptyBars())
    else p.reject(new IbRequestError(kind, code, message))
  }

  ib.on(EventName.error, (err: Error, code: number, reqId: number) => onIbMessage(code, err?.message ?? String(err), reqId ?? -1))
  ib.on(EventName.info, (message: string, code: number) => onIbMessage(code, message, -1))
  ib.on(EventName.headTimestamp, (reqId: number, ts: string) => {
    const p = requests.take(reqId)
    if (!p) return
    const t = parseIbTime(ts)
    p.resolve(Number.isFinite(t) ? t : undefined)
  })
  ib.on(EventName.historicalData, (reqId: number, time: string, open: number, high: number, low: number, close: number, volume: number) => {
    const p = requests.get(reqId)
    if (!p?.bars) return
    if (time.startsWith('finished')) {
      requests.take(reqId)
      p.resolve(p.bars)
      return
    }
    const t = parseIbTime(time)
    if (!Number.isFinite(t)) return
    p.bars.time.push(t)
    p.bars.open.push(open)
    p.bars.high.push(high)
    p.bars.low.push(low)
    p.bars.close.push(close)
    // BID bars have no volume: IB sends -1 (docs/domain.md#bar-storage); keep it so the store states the truth.
    p.bars.volume.push(volume ?? -1)
  })

  function request<T>(
    kind: 'hist' | 'head',
    send: (reqId: number) => void,
    cancel: (reqId: number) => void,
    signal?: AbortSignal,
  ): Promise<T> {
    if (!connected) return Promise.reject(new IbRequestError('disconnected', 504, 'Not connected to IB'))
    if (!linkUp) return Promise.reject(new IbRequestError('connectivity', 1100, 'IB has lost connectivity to its servers'))
    return requests.start<T>(kind, send, cancel, signal)
  }

  const client: IbClient = {
    clientId,
    get serverVersion() {
      return ib.serverVersion
    },
    get connected() {
      return connected
    },
    headTimestamp(contract, whatToShow, useRTH, signal) {
      return request<number | undefined>(
        'head',
        (id) => ib.reqHeadTimestamp(id, contract, whatToShow as never, useRTH, 2),
        (id) => ib.cancelHeadTimestamp(id),
        signal,
      )
    },
    historicalData(r, signal) {
      return request<IbBars>(
        'hist',
        (id) =>
          ib.reqHistoricalData(
            id,
            r.contract,
            r.endDateTime,
            r.durationStr,
            r.barSize as never,
            r.whatToShow as never,
            r.useRTH ? 1 : 0,
            2,
            false,
          ),
        (id) => ib.cancelHistoricalData(id),
        signal,
      )
    },
    waitForConnectivity(timeoutMs, signal) {
      if (linkUp) return Promise.resolve()
      if (!connected) return Promise.reject(new IbRequestError('disconnected', 504, 'Not connected to IB'))
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          linkWaiters.delete(w)
          reject(new IbRequestError('disconnected', 1100, `IB connectivity not restored within ${timeoutMs} ms`))
        }, timeoutMs)
        timer.unref?.()
        const onAbort = () => {
          linkWaiters.delete(w)
          clearTimeout(timer)
          reject(signal!.reason)
        }
        const w = {
          resolve: () => {
            clearTimeout(timer)
            signal?.removeEventListener('abort', onAbort)
            resolve()
          },
          reject: (e: Error) => {
            clearTimeout(timer)
            signal?.removeEventListener('abort', onAbort)
            reject(e)
          },
        }
        linkWaiters.add(w)
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    },
    close() {
      connected = false
      ib.removeAllListeners()
      ib.disconnect()
    },
  }

  return new Promise<IbClient>((resolve, reject) => {
    let settled = false
    const finish = (error?: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      if (error) {
        ib.removeAllListeners()
        ib.disconnect()
        reject(error)
      } else resolve(client)
    }
    const timer = setTimeout(
      () =>
        finish(
          new KtrdrError({
            code: 'IB_CONNECT_TIMEOUT',
            message: `No API handshake from IB at ${options.host}:${options.port} within ${options.connectTimeoutMs} ms: is IB Gateway running with the API enabled on that port?`,
          }),
        ),
      options.connectTimeoutMs,
    )
    const onAbort = () => finish(signal!.reason as Error)
    signal?.addEventListener('abort', onAbort, { once: true })
    ib.once(EventName.nextValidId, () => {
      connected = true
      finish()
    })
    ib.on(EventName.info, (message: string, code: number) => {
      if (code === CLIENT_ID_IN_USE) finish(new IbRequestError('transient', CLIENT_ID_IN_USE, message))
    })
    ib.on(EventName.error, (err: Error, code: number) => {
      if (code === CLIENT_ID_IN_USE) finish(new IbRequestError('transient', CLIENT_ID_IN_USE, err.message))
      else if (!connected && code === 502)
        finish(
          new KtrdrError({
            code: 'IB_CONNECT_FAILED',
            cause: err,
            message: `Cannot connect to IB at ${options.host}:${options.port} (${err.message}): check IB_HOST/IB_PORT and that IB Gateway accepts API connections`,
          }),
        )
    })
    ib.on(EventName.disconnected, () => {
      const wasConnected = connected
      connected = false
      linkUp = true
      requests.failAll(new IbRequestError('disconnected', 504, 'Connection to IB closed'))
      for (const w of linkWaiters) w.reject(new IbRequestError('disconnected', 504, 'Connection to IB closed'))
      linkWaiters.clear()
      if (!wasConnected)
        finish(
          new KtrdrError({
            code: 'IB_CONNECT_FAILED',
            message: `IB at ${options.host}:${options.port} closed the connection during the handshake`,
          }),
        )
    })
    ib.connect(clientId)
  })
}
