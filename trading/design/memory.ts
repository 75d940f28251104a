import type { Storage } from 'unstorage'
import { parse, stringify } from 'yaml'

/**
 * Research memory in the `memory` mount, YAML so a researcher can read and edit it:
 * `experiments/<exp_id>.yaml` (one per research loop) and `hypotheses.yaml` (`H_###`, status
 * untested/supported/refuted, the experiments that bear on each). The research loop writes it;
 * `design` reads it so the next loop builds on the last.
 */
export type HypothesisStatus = 'untested' | 'supported' | 'refuted'

export interface Hypothesis {
  id: string
  text: string
  status: HypothesisStatus
  /** Experiments that proposed or tested it. */
  experiments: string[]
  created_at: string
  updated_at: string
}

export interface ExperimentRecord {
  id: string
  created_at: string
  status: 'completed' | 'failed' | 'cancelled'
  brief: string | null
  strategy: { name: string; designed: boolean }
  models: Record<string, { model: string; sha256: string } | { key: string } | null>
  data_window: {
    symbol: string | null
    timeframe: string | null
    train: { start: string | null; end: string | null }
    backtest: { start: string | null; end: string | null }
  }
  metrics: Record<string, number | null>
  gates: Record<string, { passed: boolean; bypassed: boolean; reasons: string[] } | null>
  assessment: {
    verdict: string
    observations: string[]
    hypotheses: string[]
    limitations: string[]
    facts: Record<string, unknown>
  } | null
  /** Hypotheses the design was given (tested by this experiment) and those it proposed. */
  hypotheses: { tested: string[]; proposed: string[] }
  operations: Record<string, string | null>
  error?: string | null
}

export const HYPOTHESES_KEY = 'hypotheses.yaml'
export const experimentKey = (id: string) => `experiments/${id}.yaml`
export const EXPERIMENT_ID_RE = /^exp_\d{8}_\d{6}_[0-9a-f]{8}$/

/** `exp_YYYYMMDD_HHMMSS_xxxxxxxx` (docs/domain.md#agent-research-loop), unique per loop. */
export function experimentId(at: Date, hex8: string): string {
  const s = at.toISOString()
  return `exp_${s.slice(0, 10).replace(/-/g, '')}_${s.slice(11, 19).replace(/:/g, '')}_${hex8}`
}

function parseYaml<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'object') return value as T
  try {
    return parse(String(value)) as T
  } catch {
    return null
  }
}

function hypothesesOf(value: unknown): Hypothesis[] {
  const doc = parseYaml<{ hypotheses?: Hypothesis[] }>(value)
  return Array.isArray(doc?.hypotheses) ? doc.hypotheses.filter((h) => h && typeof h.id === 'string') : []
}

export async function readHypotheses(memory: Storage): Promise<Hypothesis[]> {
  return hypothesesOf(await memory.getItem(HYPOTHESES_KEY))
}

export async function readExperiment(memory: Storage, id: string): Promise<ExperimentRecord | null> {
  if (!EXPERIMENT_ID_RE.test(id)) return null
  return parseYaml<ExperimentRecord>(await memory.getItem(experimentKey(id)))
}

/** Experiment ids, newest first (the ids sort by time). */
export async function listExperimentIds(memory: Storage): Promise<string[]> {
  const keys = await memory.getKeys('experiments')
  return keys
    .map((k) => /([^:/]+)\.yaml$/.exec(k)?.[1])
    .filter((id): id is string => !!id && EXPERIMENT_ID_RE.test(id))
    .sort()
    .reverse()
}

/** What design is told: the last experiments (one line each) and the hypotheses still open. */
export async function readMemorySummary(memory: Storage, lastExperiments = 5) {
  const ids = (await listExperimentIds(memory)).slice(0, lastExperiments)
  const experiments = (await Promise.all(ids.map((id) => readExperiment(memory, id)))).filter((e): e is ExperimentRecord => !!e)
  const hypotheses = await readHypotheses(memory)
  return {
    experiments: experiments.map((e) => ({
      id: e.id,
      strategy: e.strategy.name,
      verdict: e.assessment?.verdict ?? e.status,
      sharpe: e.metrics.sharpe_ratio ?? null,
      test_accuracy: e.metrics.test_accuracy ?? null,
      trades: e.metrics.total_trades ?? null,
    })),
    // The newest open ones only: the prompt must stay small whatever the memory holds.
    open_hypotheses: hypotheses.filter((h) => h.status === 'untested').slice(-lastExperiments),
  }
}

export async function writeExperiment(memory: Storage, record: ExperimentRecord): Promise<void> {
  await memory.setItem(experimentKey(record.id), stringify(record, { lineWidth: 0 }))
}

/**
 * Adds the hypotheses an assessment proposed (new `H_###` ids, untested) and settles the ones the
 * experiment tested: a strong signal supports them, no signal or overfitting refutes them, a weak
 * signal leaves them open. Pure: returns the whole list and the new ids (writeHypotheses stores it).
 */
export function settleHypotheses(
  all: Hypothesis[],
  experiment: string,
  update: { proposed: string[]; tested: string[]; verdict: string | null },
  now = new Date(),
): { hypotheses: Hypothesis[]; added: string[] } {
  const hypotheses = all.map((h) => ({ ...h, experiments: [...h.experiments] }))
  const at = now.toISOString()
  const settle: HypothesisStatus | null =
    update.verdict === 'strong_signal' ? 'supported' : update.verdict === 'no_signal' || update.verdict === 'overfit' ? 'refuted' : null
  for (const h of hypotheses) {
    if (!update.tested.includes(h.id)) continue
    if (!h.experiments.includes(experiment)) h.experiments.push(experiment)
    if (settle && h.status === 'untested') h.status = settle
    h.updated_at = at
  }
  let next = hypotheses.reduce((max, h) => Math.max(max, Number(/^H_(\d+)$/.exec(h.id)?.[1] ?? 0)), 0)
  const known = new Set(hypotheses.map((h) => h.text.toLowerCase()))
  const added: string[] = []
  for (const raw of update.proposed) {
    const text = raw.replace(/\s+/g, ' ').trim().slice(0, 300)
    if (!text || known.has(text.toLowerCase())) continue
    known.add(text.toLowerCase())
    const id = `H_${String(++next).padStart(3, '0')}`
    hypotheses.push({ id, text, status: 'untested', experiments: [experiment], created_at: at, updated_at: at })
    added.push(id)
  }
  return { hypotheses, added }
}

/**
 * hypotheses.yaml's text: `hypotheses:` then one block item per hypothesis, so an item that did not
 * change is not rendered again when `rendered` (JSON of an item → its YAML, kept by the caller from
 * one write to the next) holds it. Parses as stringify({hypotheses}) would.
 */
export function hypothesesYaml(hypotheses: Hypothesis[], rendered?: Map<string, string>): string {
  if (hypotheses.length === 0) return 'hypotheses: []\n'
  const now = new Map<string, string>()
  const parts = ['hypotheses:\n']
  for (const h of hypotheses) {
    const key = JSON.stringify(h)
    const text = now.get(key) ?? rendered?.get(key) ?? stringify([h], { lineWidth: 0 })
    now.set(key, text)
    parts.push(text)
  }
  if (rendered) {
    rendered.clear()
    for (const [key, text] of now) rendered.set(key, text)
  }
  return parts.join('')
}

/**
 * hypotheses.yaml for its one writer (the gateway's research loops). YAML's cost grows with the
 * memory: 1,000 hypotheses take ≈ 280 ms to parse and ≈ 80 ms to stringify on a busy 2-core
 * machine, at every loop. So the list is parsed again only when the file's text is not the text
 * last read or written here (a hand edit is read back), and unchanged items are not rendered again.
 */
export function createHypothesesFile(memory: Storage) {
  let known: { text: string; hypotheses: Hypothesis[] } | null = null
  const rendered = new Map<string, string>()
  return {
    /** The list as stored (not to be mutated: settleHypotheses returns a new one). */
    async read(): Promise<Hypothesis[]> {
      const raw = await memory.getItemRaw(HYPOTHESES_KEY)
      const text = raw === null || raw === undefined ? null : typeof raw === 'string' ? raw : new TextDecoder().decode(raw as Uint8Array)
      if (text !== null && known?.text === text) return known.hypotheses
      const hypotheses = hypothesesOf(text)
      known = text === null ? null : { text, hypotheses }
      return hypotheses
    },
    async write(hypotheses: Hypothesis[]): Promise<void> {
      const text = hypothesesYaml(hypotheses, rendered)
      known = null
      await memory.setItem(HYPOTHESES_KEY, text)
      known = { text, hypotheses }
    },
  }
}

/** Reads, settles (settleHypotheses) and writes the hypotheses; returns the new ids. Callers serialise updates (one writer: the gateway). */
export async function recordHypotheses(
  memory: Storage,
  experiment: string,
  update: { proposed: string[]; tested: string[]; verdict: string | null },
  now = new Date(),
): Promise<string[]> {
  const { hypotheses, added } = settleHypotheses(await readHypotheses(memory), experiment, update, now)
  await memory.setItem(HYPOTHESES_KEY, hypothesesYaml(hypotheses))
  return added
}
