import type { CompareFormat } from '../api/_compare.ts'

const fixed = (v: number, d: number) => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })

/** A comparison cell as text (the dashboard's format.js shows the same formats). */
export function formatCell(v: number | string | null, format: CompareFormat): string {
  if (v === null || v === undefined) return '-'
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
      return v < 90 ? `${fixed(v, 1)} s` : `${fixed(v / 60, 1)} min`
    case 'integer':
      return fixed(v, 0)
    default:
      return Math.abs(v) >= 100 || v === 0 ? fixed(v, 1) : fixed(v, 4)
  }
}
