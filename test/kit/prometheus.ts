// Reads a /metrics answer with an independent parser (parse-prometheus-text-format, not prom-client).
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format'

export interface ScrapedMetrics {
  families: PrometheusFamily[]
  /** Value of a counter or gauge sample whose labels include `labels`; summed over matches, 0 when none. */
  value(name: string, labels?: Record<string, string>): number
  /**
   * `_count` of a histogram for the samples whose labels include `labels`. The parser folds every
   * label set of a histogram into one sample, so the `_count` series is read as its own family.
   */
  histogramCount(name: string, labels?: Record<string, string>): number
}

const matches = (have: Record<string, string> | undefined, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => have?.[k] === v)

export function readMetrics(text: string): ScrapedMetrics {
  const families = parsePrometheusTextFormat(text)
  const sum = (list: PrometheusFamily[], name: string, labels: Record<string, string>) => {
    const family = list.find((f) => f.name === name)
    if (!family) throw new Error(`No metric ${name} in the scrape`)
    return family.metrics.filter((m) => matches(m.labels, labels)).reduce((s, m) => s + Number(m.value), 0)
  }
  return {
    families,
    value: (name, labels = {}) => sum(families, name, labels),
    histogramCount(name, labels = {}) {
      if (families.find((f) => f.name === name)?.type !== 'HISTOGRAM') throw new Error(`${name} is not a histogram in the scrape`)
      const counts = text
        .split('\n')
        .filter((l) => l.startsWith(`${name}_count`))
        .join('\n')
      return counts ? sum(parsePrometheusTextFormat(`# TYPE ${name}_count counter\n${counts}\n`), `${name}_count`, labels) : 0
    },
  }
}
