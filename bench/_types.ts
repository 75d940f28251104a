export type BenchSection = {
  title: string
  rows: Array<Record<string, string | number>>
  notes?: string[]
}
