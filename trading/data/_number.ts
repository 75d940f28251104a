// Decimal parsing straight from bytes. Integer mantissa ≤ 2^53 and ≤ 22 fraction digits use
// Clinger's fast path (one correctly rounded division, so the result equals Number(text));
// anything else falls back to Number() on the slice.

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i)
const decoder = new TextDecoder('latin1')

export function parseNumberBytes(buf: Uint8Array, start: number, end: number): number {
  // Trim spaces and quotes that spreadsheet exports add.
  while (start < end && (buf[start] === 32 || buf[start] === 34)) start++
  while (end > start && (buf[end - 1] === 32 || buf[end - 1] === 34 || buf[end - 1] === 13)) end--
  if (start >= end) return Number.NaN
  let i = start
  let neg = false
  if (buf[i] === 45) {
    neg = true
    i++
  } else if (buf[i] === 43) i++
  let mant = 0
  let digits = 0
  let frac = 0
  let sawDot = false
  let any = false
  for (; i < end; i++) {
    const c = buf[i]
    if (c >= 48 && c <= 57) {
      any = true
      if (mant === 0 && c === 48 && !sawDot) continue
      mant = mant * 10 + (c - 48)
      if (mant !== 0) digits++
      if (sawDot) frac++
    } else if (c === 46 && !sawDot) {
      sawDot = true
    } else {
      return slow(buf, start, end)
    }
  }
  if (!any) return Number.NaN
  if (digits > 15 || frac > 22) return slow(buf, start, end)
  const v = frac === 0 ? mant : mant / POW10[frac]
  return neg ? -v : v
}

function slow(buf: Uint8Array, start: number, end: number): number {
  const text = decoder.decode(buf.subarray(start, end)).trim()
  if (text === '') return Number.NaN
  const v = Number(text)
  return v
}
