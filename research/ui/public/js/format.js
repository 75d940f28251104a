// Number and date formatting shared by the dashboard, the self-contained report and the CLI
// (research/cli/_format.ts imports it; format.d.ts beside it gives tsc its types).

const nf = (d) => new Intl.NumberFormat('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
const cache = new Map()
export function fixed(v, d = 2) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–'
  if (!cache.has(d)) cache.set(d, nf(d))
  return cache.get(d).format(v)
}

/** Formats a value by the comparison table's formats (research/api/_compare.ts); text stays as it is. */
export function byFormat(v, format, missing = '–') {
  if (v === null || v === undefined) return missing
  if (typeof v === 'string') return v
  switch (format) {
    case 'percent':
      return `${fixed(v, 2)}%`
    case 'fraction':
      return `${fixed(v * 100, 2)}%`
    case 'ratio':
      return fixed(v, 2)
    case 'p_value':
      return fixed(v, 4)
    case 'hours':
      return `${fixed(v, 1)} h`
    case 'seconds':
      return duration(v)
    case 'integer':
      return fixed(v, 0)
    case 'number':
      return Math.abs(v) >= 100 || v === 0 ? fixed(v, 1) : fixed(v, 4)
    default:
      return String(v)
  }
}

export function duration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '–'
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`
  if (seconds < 90) return `${fixed(seconds, 1)} s`
  if (seconds < 5400) return `${fixed(seconds / 60, 1)} min`
  return `${fixed(seconds / 3600, 1)} h`
}

export function when(iso) {
  if (!iso) return '–'
  const d = new Date(iso)
  return Number.isNaN(d.getTime())
    ? String(iso)
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
}

export function ago(iso, now = Date.now()) {
  if (!iso) return '–'
  const s = (now - Date.parse(iso)) / 1000
  if (!Number.isFinite(s)) return '–'
  if (s < 60) return `${Math.max(0, Math.round(s))} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`
  return `${Math.round(s / 86_400)} d ago`
}

export const bytes = (n) =>
  typeof n !== 'number' ? '–' : n < 1024 ? `${n} B` : n < 1 << 20 ? `${fixed(n / 1024, 0)} KiB` : `${fixed(n / (1 << 20), 1)} MiB`
