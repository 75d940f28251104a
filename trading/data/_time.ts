// Hand-written UTC timestamp codec: Date.parse is ~10× slower and timezone-ambiguous.

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

const DAY_MS = 86_400_000

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0')
}

/** `YYYY-MM-DDTHH:MM:SSZ`, KTRDR's on-disk form. */
let cachedDay = Number.NaN
let cachedPrefix = ''

export function formatIsoSeconds(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms)
  const day = Math.floor(ms / DAY_MS)
  if (day !== cachedDay) {
    const d = new Date(day * DAY_MS)
    cachedPrefix = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T`
    cachedDay = day
  }
  const rest = Math.floor((ms - day * DAY_MS) / 1000)
  return `${cachedPrefix}${pad(Math.floor(rest / 3600))}:${pad(Math.floor(rest / 60) % 60)}:${pad(rest % 60)}Z`
}

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31
}

/**
 * Parses an ISO-like timestamp from bytes [start, end): `YYYY-MM-DD`, then optional
 * `T`/space `HH:MM[:SS[.fff]]`, then optional `Z` or `±HH[:MM]`. Returns NaN when malformed, or for a day
 * its month does not have.
 */
export function parseIsoBytes(buf: Uint8Array, start: number, end: number): number {
  if (end - start < 10) return Number.NaN
  const y = d4(buf, start)
  const mo = d2(buf, start + 5)
  const d = d2(buf, start + 8)
  if (y < 0 || buf[start + 4] !== 45 || buf[start + 7] !== 45 || mo < 1 || mo > 12 || d < 1 || d > 31) return Number.NaN
  // 2021-02-30 is no day: daysFromCivil would read it as March 2 (checked only past the 28th).
  if (d > 28 && d > daysInMonth(y, mo)) return Number.NaN
  let ms = daysFromCivil(y, mo, d) * DAY_MS
  let i = start + 10
  if (i >= end) return ms
  const sep = buf[i]
  if ((sep !== 84 && sep !== 32) || end - i < 6) return Number.NaN
  const hh = d2(buf, i + 1)
  const mm = d2(buf, i + 4)
  if (hh < 0 || hh > 23 || buf[i + 3] !== 58 || mm < 0 || mm > 59) return Number.NaN
  ms += hh * 3_600_000 + mm * 60_000
  i += 6
  if (i < end && buf[i] === 58) {
    const ss = end - i >= 3 ? d2(buf, i + 1) : -1
    if (ss < 0 || ss > 60) return Number.NaN
    ms += ss * 1000
    i += 3
    if (i < end && buf[i] === 46) {
      i++
      let frac = 0
      let scale = 100
      while (i < end && buf[i] >= 48 && buf[i] <= 57) {
        frac += (buf[i] - 48) * scale
        scale /= 10
        i++
      }
      ms += Math.round(frac)
    }
  }
  if (i >= end) return ms
  const z = buf[i]
  if (z === 90 && i + 1 === end) return ms
  if ((z === 43 || z === 45) && end - i >= 3) {
    const oh = d2(buf, i + 1)
    i += 3
    if (oh < 0) return Number.NaN
    let om = 0
    if (i < end && buf[i] === 58) i++
    if (i < end) {
      om = end - i === 2 ? d2(buf, i) : -1
      if (om < 0) return Number.NaN
    }
    const offset = (oh * 60 + om) * 60_000
    return z === 43 ? ms - offset : ms + offset
  }
  return Number.NaN
}

function d2(buf: Uint8Array, i: number): number {
  const a = buf[i] - 48,
    b = buf[i + 1] - 48
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1
  return a * 10 + b
}

function d4(buf: Uint8Array, i: number): number {
  const a = d2(buf, i),
    b = d2(buf, i + 2)
  return a < 0 || b < 0 ? -1 : a * 100 + b
}

/** Parses a user-supplied date/time (CLI flag, query string). Date-only means 00:00 UTC. */
export function parseDateInput(input: string | number | Date): number {
  if (input instanceof Date) return input.getTime()
  if (typeof input === 'number') return input
  const s = input.trim()
  if (/^\d+$/.test(s)) return Number(s) < 1e11 ? Number(s) * 1000 : Number(s)
  const bytes = new TextEncoder().encode(s)
  return parseIsoBytes(bytes, 0, bytes.length)
}

/** True for `YYYY-MM-DD` without a time: an inclusive end date then covers the whole day. */
export function isDateOnly(input: unknown): boolean {
  return typeof input === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(input.trim())
}

export const MS_PER_DAY = DAY_MS
