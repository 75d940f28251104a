/** A window length: a count of UTC days, weeks, calendar months or years. */
export interface Duration {
  n: number
  unit: 'd' | 'w' | 'm' | 'y'
}

export const DURATION_RE = /^([1-9]\d{0,3})([dwmy])$/
const DAY = 86_400_000

export function parseDuration(text: string): Duration | null {
  const m = DURATION_RE.exec(text)
  return m ? { n: Number(m[1]), unit: m[2] as Duration['unit'] } : null
}

export const formatDuration = (d: Duration) => `${d.n}${d.unit}`

const dayMs = (date: string) => Date.parse(`${date}T00:00:00Z`)
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/**
 * `date` moved on by `times` × `d`. Months and years are calendar ones; a day that the target
 * month lacks is its last day (Jan 31 + 1 month = Feb 28/29), so a window never spills into the
 * month after.
 */
export function addDuration(date: string, d: Duration, times = 1): string {
  const ms = dayMs(date)
  const n = d.n * times
  if (d.unit === 'd') return dateOf(ms + n * DAY)
  if (d.unit === 'w') return dateOf(ms + n * 7 * DAY)
  const at = new Date(ms)
  const months = d.unit === 'm' ? n : 12 * n
  const y = at.getUTCFullYear()
  const m = at.getUTCMonth() + months
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate()
  return dateOf(Date.UTC(y, m, Math.min(at.getUTCDate(), last)))
}

export const nextDay = (date: string) => dateOf(dayMs(date) + DAY)
export const previousDay = (date: string) => dateOf(dayMs(date) - DAY)

export interface FoldWindow {
  /** 1-based. */
  fold: number
  /** Inclusive UTC dates (a date-only end covers its whole day). */
  train: { start: string; end: string }
  test: { start: string; end: string }
}

export interface FoldPlan {
  start: string
  end: string
  train: Duration
  test: Duration
  step: Duration
  mode: 'rolling' | 'anchored'
}

/**
 * Train → test windows over [start, end]. Rolling: the training window keeps its length and moves
 * by `step`; anchored: it always starts at `start` and grows by `step`. Each test window begins the
 * day after its training window ends and has the full `test` length; a fold whose test window would
 * pass `end` is not planned. At most `max + 1` folds are planned (the caller refuses more than max).
 */
export function planFolds(plan: FoldPlan, max: number): FoldWindow[] {
  const folds: FoldWindow[] = []
  for (let k = 0; folds.length <= max; k++) {
    const trainStart = plan.mode === 'rolling' ? addDuration(plan.start, plan.step, k) : plan.start
    const trainEnd = previousDay(
      plan.mode === 'rolling' ? addDuration(trainStart, plan.train) : addDuration(addDuration(plan.start, plan.train), plan.step, k),
    )
    const testStart = nextDay(trainEnd)
    const testEnd = previousDay(addDuration(testStart, plan.test))
    if (testEnd > plan.end) break
    folds.push({ fold: k + 1, train: { start: trainStart, end: trainEnd }, test: { start: testStart, end: testEnd } })
  }
  return folds
}
