// The CLI's comparison cells are the dashboard's (research/ui/public/js/format.js): one formatting
// for `ktrdr compare`, `ktrdr model compare`, the compare page and the HTML report.
import { describe, expect, it } from 'vitest'
import type { CompareFormat } from '../../api/_compare.ts'
import { byFormat } from '../../ui/public/js/format.js'
import { formatCell } from '../_format.ts'

const FORMATS: CompareFormat[] = ['percent', 'fraction', 'ratio', 'p_value', 'hours', 'seconds', 'integer', 'number', 'text']
const VALUES = [0, 0.5, -0.123456, 1, 12.3456, 99.99, 100, 1234.5678, -2500, 3600, 7200]

describe('formatCell', () => {
  it('shows every number as the dashboard does, in every format', () => {
    for (const format of FORMATS) for (const v of VALUES) expect(formatCell(v, format), `${format} ${v}`).toBe(byFormat(v, format))
  })

  it('durations read as on the dashboard: ms under a second, hours past 90 minutes', () => {
    expect([0.25, 45.3, 600, 7200].map((s) => formatCell(s, 'seconds'))).toEqual(['250 ms', '45.3 s', '10.0 min', '2.0 h'])
  })

  it('text as it is, and an ASCII "-" where a value is missing (the dashboard: "–")', () => {
    expect(formatCell('EURUSD 1h', 'text')).toBe('EURUSD 1h')
    expect(formatCell(null, 'percent')).toBe('-')
    expect(byFormat(null, 'percent')).toBe('–')
    expect(formatCell(1234.5, 'percent')).toBe('1,234.50%')
  })
})
