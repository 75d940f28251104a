import { defineCommand } from 'citty'
import { apiArgs, followOperation, guard, table, useGatewayApi } from '../../runtime/cli/index.ts'

type Loop = {
  operation_id: string
  status: string
  phase: string
  strategy_name: string | null
  experiment_id: string
  request: { seed?: number }
  created_at: string
  updated_at: string
  progress: { percentage: number; current_step: string; child?: { operation_id: string; status: string; percentage: number } | null }
  children: Record<string, string>
  gates: Record<string, { passed: boolean; bypassed: boolean; reasons: string[] } | undefined>
  shortcut: string | null
  error: { message: string } | null
  tokens: { design: number; assess: number }
  results: Record<string, any>
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled'])

function summary(loop: Loop): string {
  const lines = [
    `${loop.operation_id}  ${loop.status}  phase ${loop.phase}  ${loop.progress.percentage}%`,
    `  strategy     ${loop.strategy_name ?? '(being designed)'}`,
    `  experiment   ${loop.experiment_id}`,
  ]
  if (loop.request?.seed !== undefined)
    lines.push(`  seed         ${loop.request.seed} (--seed ${loop.request.seed} repeats the LLM's choices)`)
  for (const [phase, id] of Object.entries(loop.children)) lines.push(`  ${phase.padEnd(12)} ${id}`)
  for (const [name, gate] of Object.entries(loop.gates))
    if (gate)
      lines.push(
        `  ${`${name} gate`.padEnd(12)} ${gate.passed ? (gate.bypassed ? 'bypassed' : 'passed') : 'failed'}${gate.reasons.length ? `: ${gate.reasons.join('; ')}` : ''}`,
      )
  if (loop.shortcut) lines.push(`  shortcut     ${loop.shortcut}`)
  const assess = loop.results.assess
  if (assess) {
    lines.push(`  verdict      ${assess.verdict} (allowed: ${assess.facts?.allowed_verdicts?.join(', ')})`)
    for (const o of assess.observations ?? []) lines.push(`    - ${o}`)
  }
  lines.push(`  tokens       design ${loop.tokens.design}, assess ${loop.tokens.assess}`)
  if (loop.error) lines.push(`  error        ${loop.error.message}`)
  return lines.join('\n')
}

const start = defineCommand({
  meta: { name: 'start', description: 'Start a research loop: design (from a brief) → train → backtest → assess' },
  args: {
    brief: { type: 'string', description: 'What to research, in words (a strategy is designed from it)' },
    strategy: { type: 'string', description: 'An existing strategy instead of a brief (design is skipped)' },
    model: { type: 'string', description: "LLM model (default: the llm hosts' own)" },
    seed: { type: 'string', description: 'Sampling seed of design and assess (default: random; the loop records it)' },
    epochs: { type: 'string', description: 'Training epochs (default KTRDR_RESEARCH_EPOCHS or 5)' },
    'bypass-gates': { type: 'boolean', description: 'Do not stop at the training and backtest gates' },
    wait: { type: 'boolean', description: 'Follow the loop phase by phase until it ends' },
    ...apiArgs,
  },
  run: ({ args }) =>
    guard(async () => {
      const api = useGatewayApi(args.url)
      const body: Record<string, unknown> = {}
      if (args.brief !== undefined) body.brief = args.brief
      if (args.strategy !== undefined) body.strategy = args.strategy
      if (args.model) body.model = args.model
      // Sent as typed unless it is digits: the gateway's 400 then quotes what was wrong.
      if (args.seed !== undefined) body.seed = /^\d{1,10}$/.test(args.seed) ? Number(args.seed) : args.seed
      if (args['bypass-gates']) body.bypass_gates = true
      if (args.epochs !== undefined) body.training = { epochs: Number(args.epochs) }
      const loop = await api<Loop>('/api/v1/research', { method: 'POST', body })
      if (args.json && !args.wait) return console.log(JSON.stringify(loop, null, 2))
      console.log(`Started ${loop.operation_id} (experiment ${loop.experiment_id})`)
      if (!args.wait) return
      let last = ''
      const show = (line: string) => {
        if (line !== last) console.log(line)
        last = line
      }
      for (;;) {
        const { data } = await api<{ data: Loop }>(`/api/v1/research/${loop.operation_id}`)
        show(`[${data.phase}] ${data.progress.percentage}% ${data.progress.current_step}`)
        if (TERMINAL.has(data.status)) {
          console.log(args.json ? JSON.stringify(data, null, 2) : summary(data))
          if (data.status !== 'completed') process.exitCode = 1
          return
        }
        const child = data.progress.child
        if (child && !TERMINAL.has(child.status)) {
          // The phase's child announces its progress and its end on its event stream.
          await followOperation(api, child.operation_id, {
            onState: (op) => show(`[${data.phase}] ${op.progress.percentage}% of ${op.function.name}: ${op.progress.current_step ?? ''}`),
          })
        } else {
          // Waiting for a slot (pending), or the loop recording a finished phase: the gateway answers
          // at the loop's next save (changed_after), not a timer here.
          await api(`/api/v1/research/${loop.operation_id}?wait_seconds=60&changed_after=${encodeURIComponent(data.updated_at)}`)
        }
      }
    }),
})

const list = defineCommand({
  meta: { name: 'list', description: 'Research loops, newest first' },
  args: { status: { type: 'string', description: 'Filter: pending,running,completed,failed,cancelled' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const api = useGatewayApi(args.url)
      const q = args.status ? `?status=${encodeURIComponent(args.status)}` : ''
      const { data } = await api<{ data: Loop[] }>(`/api/v1/research${q}`)
      if (args.json) return console.log(JSON.stringify(data, null, 2))
      console.log(
        table(
          data.map((l) => ({
            operation: l.operation_id,
            status: l.status,
            phase: l.phase,
            strategy: l.strategy_name ?? '-',
            verdict: l.results.assess?.verdict ?? '-',
            created: l.created_at,
          })),
          ['operation', 'status', 'phase', 'strategy', 'verdict', 'created'],
        ),
      )
    }),
})

const show = defineCommand({
  meta: { name: 'show', description: 'One research loop: phases, children, gates, verdict' },
  args: { id: { type: 'positional', required: true, description: 'Loop operation id' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const { data } = await useGatewayApi(args.url)<{ data: Loop }>(`/api/v1/research/${encodeURIComponent(args.id)}`)
      console.log(args.json ? JSON.stringify(data, null, 2) : summary(data))
    }),
})

const cancel = defineCommand({
  meta: { name: 'cancel', description: 'Cancel a research loop and its running child' },
  args: { id: { type: 'positional', required: true, description: 'Loop operation id' }, ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const r = await useGatewayApi(args.url)<{ status: string; cancelled_children: string[] }>(
        `/api/v1/research/${encodeURIComponent(args.id)}`,
        { method: 'DELETE' },
      )
      console.log(`${args.id} ${r.status}${r.cancelled_children.length ? `; cancelled ${r.cancelled_children.join(', ')}` : ''}`)
    }),
})

const budget = defineCommand({
  meta: { name: 'budget', description: "Today's LLM token budget per model, the wall-time cap and concurrency" },
  args: { ...apiArgs },
  run: ({ args }) =>
    guard(async () => {
      const b = await useGatewayApi(args.url)<{
        day: string
        tokens_per_day: number
        models: Record<string, { used: number; remaining: number }>
        max_loop_seconds: number
        max_concurrent: number
        running: number
        pending: number
      }>('/api/v1/agent/budget')
      if (args.json) return console.log(JSON.stringify(b, null, 2))
      console.log(`${b.day}: ${b.tokens_per_day} tokens per model per day; loops capped at ${b.max_loop_seconds} s`)
      console.log(`running ${b.running} of ${b.max_concurrent}, pending ${b.pending}`)
      for (const [model, m] of Object.entries(b.models)) console.log(`  ${model}: used ${m.used}, remaining ${m.remaining}`)
    }),
})

export default defineCommand({
  meta: { name: 'research', description: 'The research loop: a brief → a designed, trained, backtested and assessed strategy' },
  subCommands: { start, list, show, cancel, budget },
})
