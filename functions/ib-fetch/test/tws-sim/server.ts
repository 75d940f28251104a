import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { Clock } from '../../src/clock.ts'
import type { InstrumentType } from '../../src/contract.ts'
import { barsBetween, type SeededSeries, type SimBar } from './series.ts'
import { formatConnTime, formatIbUtc, INTERVAL, judgePacing, MAX_VERSION, parseEnd, round, UNIT } from './_wire.ts'

/**
 * A TWS / IB Gateway stand-in speaking the real API wire protocol (V100+ framing), enough of it
 * for @stoqey/ib to connect and fetch history unmodified:
 *   client → "API\0" + int32 length + "v100..193"; server → framed "<version>\0<time>\0"
 *   client → START_API(71); server → MANAGED_ACCTS(15), NEXT_VALID_ID(9), farm-status infos (4)
 *   REQ_HEAD_TIMESTAMP(87) → HEAD_TIMESTAMP(88); REQ_HISTORICAL_DATA(20) → HISTORICAL_DATA(17)
 *   (bars then the start/end strings, which the client turns into its "finished" end marker)
 *   errors → ERR_MSG(4) version 2 with the advanced-reject field (server version ≥ 166).
 * Message layouts follow server version 193, the highest @stoqey/ib 1.6 negotiates, below
 * ERROR_TIME (194) and HISTORICAL_DATA_END (196) which would change them.
 */

export interface SimHistoricalRequest {
  reqId: number
  clientId: number
  /** Simulated time the request arrived (the shared clock). */
  at: number
  symbol: string
  secType: string
  exchange: string
  currency: string
  endDateTime: string
  durationStr: string
  barSize: string
  whatToShow: string
  useRTH: boolean
  formatDate: number
  /** Pacing rules this request broke, judged by the simulator itself. */
  violations: string[]
  outcome?: 'bars' | 'pacing' | 'error' | 'disconnect' | 'connectivity' | 'no_data'
  bars?: number
}

export type SimFault =
  | { type: 'pacing' }
  | { type: 'disconnect' }
  /** Sends 1100, then 1102 after `restoreAfterMs` real milliseconds; the request is dropped. */
  | { type: 'connectivity'; restoreAfterMs?: number }
  | { type: 'error'; code: number; message: string }
  | { type: 'no_data' }
  /** Never answer (client timeout path). */
  | { type: 'silent' }

export interface TwsSimulatorOptions {
  clock: Clock
  /** Series per IB symbol key (`EUR` for EUR.USD cash, `AAPL` for stocks). Unknown keys → error 200. */
  series: Record<string, SeededSeries>
  /** IB symbols whose historical data the account may not see (162 "No market data permissions"). */
  noPermission?: string[]
  /** Decides a fault for the n-th historical request (0-based), or none. */
  fault?: (request: SimHistoricalRequest, index: number) => SimFault | undefined
  /** Answer requests that break the pacing rules with 162, like IB does. Default true. */
  enforcePacing?: boolean
  serverVersion?: number
  account?: string
  /** Rewrites bars before they are sent (e.g. an inconsistent bar, as feeds sometimes have). */
  transformBar?: (bar: SimBar) => SimBar
}

export interface TwsSimulator {
  port: number
  requests: SimHistoricalRequest[]
  headRequests: Array<{ at: number; symbol: string; whatToShow: string }>
  connections: Array<{ clientId: number; at: number }>
  /** Client ids currently connected. */
  activeClientIds(): number[]
  /** Pretend another application holds this client id. */
  occupyClientId(id: number): void
  /** Drop every connection (like IB Gateway's nightly restart). */
  dropAll(): void
  close(): Promise<void>
}

export async function createTwsSimulator(options: TwsSimulatorOptions): Promise<TwsSimulator> {
  const { clock } = options
  const requests: SimHistoricalRequest[] = []
  const headRequests: TwsSimulator['headRequests'] = []
  const connections: TwsSimulator['connections'] = []
  const active = new Map<Socket, number>()
  const occupied = new Set<number>()
  const sockets = new Set<Socket>()
  const enforce = options.enforcePacing ?? true
  const timers = new Set<NodeJS.Timeout>()

  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => {
      sockets.delete(socket)
      active.delete(socket)
    })
    socket.on('error', () => {})
    let buf = Buffer.alloc(0)
    let handshake = true
    let version = 0
    const send = (...tokens: Array<string | number>) => {
      if (socket.destroyed) return
      const body = Buffer.from(tokens.map(String).join('\0') + '\0', 'utf8')
      const head = Buffer.alloc(4)
      head.writeUInt32BE(body.length)
      socket.write(Buffer.concat([head, body]))
    }
    const sendError = (id: number, code: number, message: string) => send(4, 2, id, code, message, '')

    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      for (;;) {
        if (handshake) {
          if (buf.length < 8) return
          if (buf.subarray(0, 4).toString('latin1') !== 'API\0') {
            socket.destroy()
            return
          }
          const len = buf.readUInt32BE(4)
          if (buf.length < 8 + len) return
          const range = buf.subarray(8, 8 + len).toString('latin1')
          buf = buf.subarray(8 + len)
          const m = /^v(\d+)(?:\.\.(\d+))?/.exec(range)
          const clientMax = m ? Number(m[2] ?? m[1]) : 0
          version = Math.min(options.serverVersion ?? MAX_VERSION, clientMax)
          handshake = false
          send(version, formatConnTime(clock.now()))
          continue
        }
        if (buf.length < 4) return
        const len = buf.readUInt32BE(0)
        if (buf.length < 4 + len) return
        const tokens = buf
          .subarray(4, 4 + len)
          .toString('utf8')
          .split('\0')
        buf = buf.subarray(4 + len)
        if (tokens.at(-1) === '') tokens.pop()
        onMessage(tokens)
      }
    })

    function onMessage(t: string[]) {
      const id = Number(t[0])
      if (id === 71) {
        const clientId = Number(t[2])
        if (occupied.has(clientId) || [...active.values()].includes(clientId)) {
          sendError(-1, 326, 'Unable to connect as the client id is already in use. Retry with a unique client id.')
          socket.end()
          return
        }
        active.set(socket, clientId)
        connections.push({ clientId, at: clock.now() })
        send(15, 1, options.account ?? 'DU1234567')
        send(9, 1, 1)
        sendError(-1, 2104, 'Market data farm connection is OK:usfarm')
        sendError(-1, 2106, 'HMDS data farm connection is OK:ushmds')
        return
      }
      if (id === 87) return onHeadTimestamp(t)
      if (id === 20) return onHistorical(t)
      // 25 CANCEL_HISTORICAL_DATA, 90 CANCEL_HEAD_TIMESTAMP and anything else: nothing to answer.
    }

    function seriesFor(symbol: string): SeededSeries | undefined {
      return options.series[symbol]
    }

    function onHeadTimestamp(t: string[]) {
      const reqId = Number(t[1])
      const symbol = t[3]
      const whatToShow = t[16]
      const formatDate = Number(t[17])
      headRequests.push({ at: clock.now(), symbol, whatToShow })
      const s = seriesFor(symbol)
      if (!s) return sendError(reqId, 200, 'No security definition has been found for the request')
      send(88, reqId, formatDate === 2 ? String(Math.floor(s.head / 1000)) : formatIbUtc(s.head))
    }

    function onHistorical(t: string[]) {
      // [20, reqId, conId, symbol, secType, lastTrade, strike, right, multiplier, exchange,
      //  primaryExch, currency, localSymbol, tradingClass, includeExpired, endDateTime, barSize,
      //  durationStr, useRTH, whatToShow, formatDate, keepUpToDate, chartOptions]
      const req: SimHistoricalRequest = {
        reqId: Number(t[1]),
        clientId: active.get(socket) ?? -1,
        at: clock.now(),
        symbol: t[3],
        secType: t[4],
        exchange: t[9],
        currency: t[11],
        endDateTime: t[15],
        barSize: t[16],
        durationStr: t[17],
        useRTH: t[18] === '1',
        whatToShow: t[19],
        formatDate: Number(t[20]),
        violations: [],
      }
      req.violations = judgePacing(requests, req)
      const index = requests.length
      requests.push(req)
      const fault = options.fault?.(req, index)
      if (enforce && req.violations.length && !fault) {
        req.outcome = 'pacing'
        return sendError(req.reqId, 162, 'Historical Market Data Service error message:Historical data request pacing violation')
      }
      if (fault) {
        req.outcome = fault.type === 'error' ? 'error' : fault.type === 'silent' ? undefined : fault.type
        switch (fault.type) {
          case 'pacing':
            return sendError(req.reqId, 162, 'Historical Market Data Service error message:Historical data request pacing violation')
          case 'no_data':
            return sendError(
              req.reqId,
              162,
              'Historical Market Data Service error message:HMDS query returned no data: EUR.USD@IDEALPRO Bid',
            )
          case 'error':
            return sendError(req.reqId, fault.code, fault.message)
          case 'disconnect':
            socket.destroy()
            return
          case 'silent':
            return
          case 'connectivity': {
            sendError(-1, 1100, 'Connectivity between IB and Trader Workstation has been lost.')
            const timer = setTimeout(() => {
              timers.delete(timer)
              sendError(-1, 1102, 'Connectivity between IB and Trader Workstation has been restored - data maintained.')
            }, fault.restoreAfterMs ?? 20)
            timers.add(timer)
            return
          }
        }
      }
      const s = seriesFor(req.symbol)
      if (!s) {
        req.outcome = 'error'
        return sendError(req.reqId, 200, 'No security definition has been found for the request')
      }
      if (options.noPermission?.includes(req.symbol)) {
        req.outcome = 'error'
        return sendError(
          req.reqId,
          162,
          `Historical Market Data Service error message:No market data permissions for ${req.exchange} ${req.secType}`,
        )
      }
      const interval = INTERVAL[req.barSize]
      const end = req.endDateTime ? parseEnd(req.endDateTime) : clock.now()
      const dur = /^(\d+) ([SDWMY])$/.exec(req.durationStr)
      if (!interval || !Number.isFinite(end) || !dur) {
        req.outcome = 'error'
        return sendError(
          req.reqId,
          321,
          `Error validating request.-'bX' : cause - Invalid bar size or duration: ${req.barSize} / ${req.durationStr}`,
        )
      }
      const start = end - Number(dur[1]) * UNIT[dur[2]]
      const bars = barsBetween(s, start, Math.min(end, clock.now()), interval)
      if (!bars.length) {
        req.outcome = 'no_data'
        return sendError(
          req.reqId,
          162,
          `Historical Market Data Service error message:HMDS query returned no data: ${req.symbol}@${req.exchange} ${req.whatToShow}`,
        )
      }
      req.outcome = 'bars'
      req.bars = bars.length
      const tokens: Array<string | number> = [17, req.reqId, formatIbUtc(start), formatIbUtc(end), bars.length]
      const daily = interval >= 86_400_000
      for (const raw of bars) {
        const b = options.transformBar ? options.transformBar(raw) : raw
        const date = daily ? formatIbUtc(b.time).slice(0, 8) : req.formatDate === 2 ? String(b.time / 1000) : formatIbUtc(b.time)
        tokens.push(date, b.open, b.high, b.low, b.close, b.volume, round(b.close), -1)
      }
      send(...tokens)
    }
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    requests,
    headRequests,
    connections,
    activeClientIds: () => [...active.values()],
    occupyClientId: (id) => {
      occupied.add(id)
    },
    dropAll: () => {
      for (const s of sockets) s.destroy()
    },
    async close() {
      for (const t of timers) clearTimeout(t)
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export type { InstrumentType }
