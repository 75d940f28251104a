import { randomBytes } from 'node:crypto'
import { cancelOperationTree, type GatewayRouteContext } from '../../runtime/gateway/index.ts'
import type { Operation } from '../../runtime/protocol/index.ts'
import {
  createHypothesesFile,
  experimentId,
  isKtrdrError,
  KtrdrError,
  llmModelMetaKey,
  settleHypotheses,
  TRADING_ERROR_CODES,
  TRADING_FUNCTIONS,
  writeExperiment,
  type ExperimentRecord,
} from '../../trading/index.ts'
import { backtestGate, trainingGate } from './gates.ts'
import type { ResolvedResearchOptions } from './options.ts'
import { experimentRecord } from './_record.ts'
import { createLoopStore, type LoopStore } from './_store.ts'
import { createLoopWatchers } from './_watchers.ts'
import { createWindowResolver } from './_window.ts'
import { PHASE_OF_CHILD, type ChildPhase, type LoopPhase, type LoopRecord, type LoopStatus, type ResearchRequest } from './_types.ts'

const TERMINAL: ReadonlySet<LoopStatus> = new Set(['completed', 'failed', 'cancelled'])
/** What a step of the state machine leaves: wait for a child, take the next step, or end the loop (saved by drive). */
type Next = 'wait' | 'again' | 'finished'
const isDone = (op: Operation) => op.status === 'completed' || op.status === 'failed' || op.status === 'cancelled'
const PHASE_SPAN: Record<LoopPhase, [number, number]> = {
  designing: [0, 25],
  training: [25, 60],
  backtesting: [60, 85],
  assessing: [85, 100],
  done: [100, 100],
}

/** `op_agent_research_YYYYMMDD_HHMMSS_xxxxxxxx`, the operation id format (docs/domain.md#operation-model). */
function loopId(at: Date, hex: string): string {
  const s = at.toISOString()
  return `op_agent_research_${s.slice(0, 10).replace(/-/g, '')}_${s.slice(11, 19).replace(/:/g, '')}_${hex}`
}

const day = (at = new Date()) => at.toISOString().slice(0, 10)
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {})

/**
 * Research loops: design → train → backtest → assess, each a child operation of the loop
 * (parent_operation_id), driven through the gateway's public services (invoke, operations). The
 * loop's state is a row in the gateway's database, saved before a child is started and after each
 * phase, and each child is started with an idempotency key of the loop and phase: a gateway that
 * restarts (SIGKILL included) finds the child it had started instead of starting another, and a
 * phase that finished is never run again. The runtime re-queues a child whose host died, so a lost
 * host costs that child's attempt only.
 */
export async function createResearchLoops(ctx: GatewayRouteContext, options: ResolvedResearchOptions) {
  const store: LoopStore = await createLoopStore(ctx.database)
  const loops = new Map<string, LoopRecord>()
  const watching = new Map<string, () => void>()
  const timers = new Map<string, NodeJS.Timeout>()
  const busy = new Map<string, Promise<void>>()
  const waiters = createLoopWatchers()
  const resolveWindow = createWindowResolver(ctx.storage, options.trainFraction)
  const hypotheses = createHypothesesFile(ctx.storage.memory)
  let memoryWrites: Promise<unknown> = Promise.resolve()
  let closed = false

  const runningCount = () => [...loops.values()].filter((l) => l.status === 'running').length
  const limit = () => options.maxConcurrent ?? ctx.workers.all().filter((w) => !w.lost).length + 1

  /** The model a loop's tokens count against when the request names none: the llm hosts' own. */
  function defaultModel(): string | null {
    for (const w of ctx.workers.all()) {
      const llm = w.record.capabilities.llm
      if (!w.lost && llm && typeof llm === 'object') return llm.model
    }
    return null
  }

  async function tokensToday(): Promise<Record<string, number>> {
    return store.tokensOn(day())
  }

  async function save(loop: LoopRecord) {
    loops.set(loop.operation_id, loop)
    await store.save(loop)
    waiters.notify(loop)
  }

  function finishLoop(loop: LoopRecord) {
    loops.delete(loop.operation_id)
    watching.get(loop.operation_id)?.()
    watching.delete(loop.operation_id)
    clearTimeout(timers.get(loop.operation_id))
    timers.delete(loop.operation_id)
    pump()
  }

  /** Starts pending loops while fewer than the limit run. */
  function pump() {
    if (closed) return
    const pending = [...loops.values()].filter((l) => l.status === 'pending').sort((a, b) => a.created_at.localeCompare(b.created_at))
    for (const loop of pending) {
      if (runningCount() >= limit()) break
      loop.status = 'running'
      loop.started_at = new Date().toISOString()
      loop.phase_started_at = loop.started_at
      schedule(loop.operation_id)
    }
  }

  function armWallClock(loop: LoopRecord) {
    const left = Date.parse(loop.created_at) + options.maxLoopSeconds * 1000 - Date.now()
    const timer = setTimeout(
      () => void cancel(loop.operation_id, `the loop reached its wall-time cap of ${options.maxLoopSeconds} s`).catch(() => {}),
      Math.max(0, Math.min(left, 2 ** 31 - 1)),
    )
    timer.unref()
    timers.set(loop.operation_id, timer)
  }

  /** Runs the state machine of one loop until it waits for a child; calls for the same loop queue up. */
  function schedule(id: string) {
    const previous = busy.get(id) ?? Promise.resolve()
    const next = previous
      .then(() => drive(id))
      .catch((error: Error) => ctx.logger.error(`Research loop ${id} failed to advance: ${error.message}`))
    busy.set(id, next)
    void next.finally(() => {
      if (busy.get(id) === next) busy.delete(id)
    })
  }

  async function drive(id: string) {
    for (;;) {
      const loop = loops.get(id)
      if (!loop || closed || TERMINAL.has(loop.status) || loop.status === 'pending') return
      const started = performance.now()
      let next: Next
      try {
        next = await step(loop)
      } catch (error) {
        // Closing: the step was cut off by the database closing under it, not by the loop's own
        // fault; the next gateway resumes the loop at this phase.
        if (closed) return
        next = await fail(loop, error as Error)
      }
      // Counted before the save, so the last step (the experiment record) is in the saved total.
      loop.orchestration_ms += performance.now() - started
      if (next === 'finished') {
        await save(loop)
        finishLoop(loop)
        return
      }
      if (!TERMINAL.has(loop.status)) await save(loop)
      if (next === 'wait') return
    }
  }

  /** Starts (or finds, after a restart) the child of a phase: one per loop and phase, whatever happens. */
  async function child(loop: LoopRecord, phase: ChildPhase, fn: string, input: unknown): Promise<Operation> {
    const known = loop.children[phase]
    const existing = known ? await ctx.operations.get(known) : null
    if (existing) return existing.op
    const result = await ctx.invoke(fn, {
      input,
      idempotency_key: `${loop.operation_id}:${phase}`,
      parent_operation_id: loop.operation_id,
      metadata: { research_loop: loop.operation_id, phase: PHASE_OF_CHILD[phase], experiment_id: loop.experiment_id },
    })
    loop.children[phase] = result.operation.operation_id
    await save(loop)
    return result.operation
  }

  /**
   * A training or backtest child, or why the gateway refused to start it: the trading functions'
   * input checks (research/api/invoke-checks.ts) refuse before any operation exists what the
   * function would have failed on (a model or data not stored, dates out of order). The loop takes
   * that as it takes a child that failed: on to assessment with the reason.
   */
  async function childOrRefusal(loop: LoopRecord, phase: 'training' | 'backtest', fn: string, input: unknown) {
    try {
      return await child(loop, phase, fn, input)
    } catch (error) {
      if (isKtrdrError(error) && (error.code === 'INPUT_INVALID' || error.code in TRADING_ERROR_CODES) && error.statusCode < 500)
        return { refused: `${error.code}: ${error.message}` }
      throw error
    }
  }

  /** Wakes the loop when this child finishes (one subscription per loop). */
  function wait(loop: LoopRecord, op: Operation): 'wait' {
    watching.get(loop.operation_id)?.()
    watching.set(
      loop.operation_id,
      ctx.operations.watch(op.operation_id, (kind) => {
        if (kind === 'finished') schedule(loop.operation_id)
      }),
    )
    return 'wait'
  }

  function enter(loop: LoopRecord, phase: LoopPhase) {
    const now = new Date()
    if (loop.phase_started_at) loop.phase_ms[loop.phase] = now.getTime() - Date.parse(loop.phase_started_at)
    loop.phase = phase
    loop.phase_started_at = now.toISOString()
  }

  function shortcut(loop: LoopRecord, reason: string) {
    loop.shortcut = reason
    enter(loop, 'assessing')
  }

  async function countTokens(loop: LoopRecord, phase: 'design' | 'assess', model: string, tokens: number) {
    loop.tokens[phase] += tokens
    loop.tokens.by_model[model] = (loop.tokens.by_model[model] ?? 0) + tokens
    await store.addTokens(day(), model, tokens)
  }

  async function step(loop: LoopRecord): Promise<Next> {
    const req = loop.request
    switch (loop.phase) {
      case 'designing': {
        if (!req.brief) {
          loop.strategy_name = req.strategy
          enter(loop, 'training')
          return 'again'
        }
        const op = await child(loop, 'design', TRADING_FUNCTIONS.design, {
          brief: req.brief,
          ...(req.constraints ? { constraints: req.constraints } : {}),
          ...(req.model ? { model: req.model } : {}),
          ...(req.seed === undefined ? {} : { seed: req.seed }),
          epochs: req.training.epochs,
        })
        if (!isDone(op)) return wait(loop, op)
        if (op.status !== 'completed')
          return fail(loop, new Error(`design ${op.status}: ${op.error?.message ?? 'no reason given'}`), op.error?.code)
        const r = obj(op.result)
        loop.results.design = {
          strategy_name: r.strategy_name,
          attempts: r.attempt_count,
          seed: r.seed,
          model: r.model,
          model_sha256: r.model_sha256,
          tokens_in: r.tokens_in,
          tokens_out: r.tokens_out,
          tokens_per_second: r.tokens_per_second,
          hypothesis: r.hypothesis,
          memory: r.memory,
        }
        loop.strategy_name = String(r.strategy_name)
        loop.hypotheses.tested = (obj(r.memory).hypotheses as string[] | undefined) ?? []
        await countTokens(loop, 'design', String(r.model), Number(r.tokens_in ?? 0) + Number(r.tokens_out ?? 0))
        loop.data_window = await resolveWindow(loop.strategy_name, req, r.market)
        enter(loop, 'training')
        return 'again'
      }
      case 'training': {
        loop.data_window ??= await resolveWindow(loop.strategy_name!, req)
        const w = loop.data_window!
        const op = await childOrRefusal(loop, 'training', TRADING_FUNCTIONS.train, {
          strategy_name: loop.strategy_name,
          ...(w.train.start ? { start_date: w.train.start } : {}),
          end_date: w.train.end,
          epochs: req.training.epochs,
        })
        if ('refused' in op) {
          loop.results.training = null
          shortcut(loop, `training refused: ${op.refused}`)
          return 'again'
        }
        if (!isDone(op)) return wait(loop, op)
        if (op.status !== 'completed') {
          loop.results.training = null
          shortcut(loop, `training ${op.status}: ${op.error?.message ?? 'no reason given'}`)
          return 'again'
        }
        loop.results.training = obj(op.result)
        loop.gates.training = trainingGate(op.result, options.gates.training, req.bypass_gates)
        if (!loop.gates.training.passed) {
          shortcut(loop, `training gate: ${loop.gates.training.reasons.join('; ')}`)
          return 'again'
        }
        enter(loop, 'backtesting')
        return 'again'
      }
      case 'backtesting': {
        const w = loop.data_window!
        const training = obj(loop.results.training)
        const op = await childOrRefusal(loop, 'backtest', TRADING_FUNCTIONS.backtest, {
          model_path: training.model_path,
          strategy_name: loop.strategy_name,
          symbol: w.symbol,
          timeframe: w.timeframe,
          start_date: w.backtest.start,
          ...(w.backtest.end ? { end_date: w.backtest.end } : {}),
          require_out_of_sample: true,
        })
        if ('refused' in op) {
          loop.results.backtest = null
          shortcut(loop, `backtest refused: ${op.refused}`)
          return 'again'
        }
        if (!isDone(op)) return wait(loop, op)
        if (op.status !== 'completed') {
          loop.results.backtest = null
          shortcut(loop, `backtest ${op.status}: ${op.error?.message ?? 'no reason given'}`)
          return 'again'
        }
        const r = obj(op.result)
        loop.results.backtest = {
          metrics: r.metrics,
          baselines: r.baselines,
          trade_count: r.trade_count,
          decisions: r.decisions,
          out_of_sample: r.out_of_sample,
          start_time: r.start_time,
          end_time: r.end_time,
          results_prefix: r.results_prefix,
        }
        const regression =
          obj(training.test_metrics).directional_accuracy !== undefined && obj(training.test_metrics).test_accuracy === undefined
        loop.gates.backtest = backtestGate(op.result, options.gates.backtest, regression, req.bypass_gates)
        if (!loop.gates.backtest.passed) shortcut(loop, `backtest gate: ${loop.gates.backtest.reasons.join('; ')}`)
        else enter(loop, 'assessing')
        return 'again'
      }
      case 'assessing': {
        const training = loop.results.training ? compactTraining(loop.results.training) : null
        const op = await child(loop, 'assess', TRADING_FUNCTIONS.assess, {
          strategy_name: loop.strategy_name,
          brief: req.brief,
          training,
          backtest: loop.results.backtest ?? null,
          gates: { training: loop.gates.training ?? null, backtest: loop.gates.backtest ?? null },
          ...(loop.shortcut ? { reason: loop.shortcut } : {}),
          ...(req.model ? { model: req.model } : {}),
          ...(req.seed === undefined ? {} : { seed: req.seed }),
        })
        if (!isDone(op)) return wait(loop, op)
        if (op.status !== 'completed')
          return fail(loop, new Error(`assess ${op.status}: ${op.error?.message ?? 'no reason given'}`), op.error?.code)
        const r = obj(op.result)
        loop.results.assess = r
        const stats = obj(r.stats)
        await countTokens(loop, 'assess', String(r.model), Number(stats.tokens_in ?? 0) + Number(stats.tokens_out ?? 0))
        enter(loop, 'done')
        loop.completed_at = new Date().toISOString()
        // Recorded before the loop reads as completed: whoever sees it finished finds its experiment.
        await record(loop, 'completed')
        if (TERMINAL.has(loop.status)) return 'wait' // cancelled meanwhile
        loop.status = 'completed'
        return 'finished'
      }
      case 'done':
        return 'wait'
    }
  }

  async function fail(loop: LoopRecord, error: Error & { code?: string }, code?: string): Promise<Next> {
    if (TERMINAL.has(loop.status)) return 'wait'
    loop.error = { message: error.message, ...((code ?? error.code) ? { code: code ?? error.code } : {}) }
    loop.completed_at = new Date().toISOString()
    if (loop.phase_started_at) loop.phase_ms[loop.phase] = Date.now() - Date.parse(loop.phase_started_at)
    await record(loop, 'failed').catch((e: Error) =>
      ctx.logger.warn(`Research loop ${loop.operation_id}: experiment record not written: ${e.message}`),
    )
    if (TERMINAL.has(loop.status)) return 'wait' // cancelled meanwhile
    loop.status = 'failed'
    return 'finished'
  }

  /**
   * The experiment record and the hypotheses, in the memory mount (one writer at a time). The two
   * files are independent once the new hypothesis ids are known, so they are written side by side:
   * one atomic write's wait (write, fsync, rename) instead of two in a row.
   */
  function record(loop: LoopRecord, status: ExperimentRecord['status']): Promise<void> {
    const write = memoryWrites.then(async () => {
      const assess = loop.results.assess ? obj(loop.results.assess) : null
      const settled = assess
        ? settleHypotheses(await hypotheses.read(), loop.experiment_id, {
            proposed: (assess.hypotheses as string[]) ?? [],
            tested: loop.hypotheses.tested,
            verdict: String(assess.verdict ?? ''),
          })
        : null
      loop.hypotheses.proposed = settled?.added ?? []
      await Promise.all([
        settled && hypotheses.write(settled.hypotheses),
        writeExperiment(ctx.storage.memory, experimentRecord(loop, status)),
      ])
    })
    memoryWrites = write.catch(() => {})
    return write
  }

  async function cancel(id: string, reason: string) {
    const loop = loops.get(id) ?? (await store.get(id))
    if (!loop) throw notFound(id)
    if (TERMINAL.has(loop.status))
      throw new KtrdrError({
        code: 'OPERATION_FINISHED',
        message: `Research loop ${id} is already ${loop.status}; only pending or running loops can be cancelled`,
      })
    loop.status = 'cancelled'
    loop.error = { message: reason, code: 'CANCELLED' }
    loop.completed_at = new Date().toISOString()
    if (loop.phase_started_at) loop.phase_ms[loop.phase] = Date.now() - Date.parse(loop.phase_started_at)
    await save(loop)
    const cancelled = cancelOperationTree(ctx, id, reason)
    await ctx.operations.flushed()
    await record(loop, 'cancelled').catch((e: Error) => ctx.logger.warn(`Research loop ${id}: experiment record not written: ${e.message}`))
    finishLoop(loop)
    return { loop, cancelled }
  }

  function notFound(id: string) {
    return new KtrdrError({
      code: 'OPERATION_NOT_FOUND',
      message: `Research loop "${id}" does not exist: list them with GET /api/v1/research`,
      details: { field: 'operation_id' },
    })
  }

  /** Refuses what cannot run: an unknown strategy or model (4xx naming the field), an exhausted budget (429). */
  async function admit(req: ResearchRequest): Promise<string> {
    if (req.strategy && !(await ctx.storage.strategies.hasItem(`${req.strategy}.yaml`)))
      throw new KtrdrError({
        code: 'STRATEGY_NOT_FOUND',
        message: `strategy: "${req.strategy}" is not in the strategies mount: upload it (ktrdr strategy upload) or give a brief`,
        details: { field: 'strategy' },
      })
    const own = ctx.workers
      .all()
      .map((w) => w.record.capabilities.llm)
      .filter((llm) => llm && typeof llm === 'object')
      .map((llm) => (llm as { model: string }).model)
    if (req.model && !own.includes(req.model) && !(await ctx.storage.models.hasItem(llmModelMetaKey(req.model))))
      throw new KtrdrError({
        code: 'LLM_MODEL_UNKNOWN',
        message: `model: "${req.model}" is neither served by a registered llm host (${own.join(', ') || 'none'}) nor published to the models mount (ktrdr llm publish)`,
        details: { field: 'model' },
      })
    if (req.brief && req.constraints) {
      // The design input is checked now against design's own schema, so a bad constraint is a 422
      // here rather than a failed loop later.
      const fn = await ctx.functions.resolve(TRADING_FUNCTIONS.design)
      ctx.validateInput(fn.sha256, fn.manifest.input_schema, { brief: req.brief, constraints: req.constraints }, `design@${fn.version}`)
    }
    // No model named and no llm host registered right now (e.g. just after a gateway restart, before
    // the hosts re-register): count against the model that spent most today, not a fresh 'default'.
    const today = await tokensToday()
    const busiest = Object.keys(today).sort((a, b) => today[b] - today[a])[0]
    const model = req.model ?? defaultModel() ?? busiest ?? 'default'
    const used = today[model] ?? 0
    if (used >= options.tokensPerDay) {
      const tomorrow = new Date(`${day()}T00:00:00Z`).getTime() + 86_400_000
      throw new KtrdrError({
        code: 'RESEARCH_BUDGET_EXHAUSTED',
        message: `The token budget of ${model} for today is spent (${used} of ${options.tokensPerDay} tokens): new loops start again at ${new Date(tomorrow).toISOString()} (KTRDR_RESEARCH_TOKENS_PER_DAY)`,
        details: { model, used, limit: options.tokensPerDay, resets_at: new Date(tomorrow).toISOString() },
      })
    }
    return model
  }

  // Live loops back into memory after a restart: each resumes at the phase it was in.
  for (const loop of await store.live()) {
    loops.set(loop.operation_id, loop)
    armWallClock(loop)
  }
  for (const loop of loops.values()) if (loop.status === 'running') schedule(loop.operation_id)
  pump()

  return {
    options,
    async start(req: ResearchRequest): Promise<LoopRecord> {
      const model = await admit(req)
      const now = new Date()
      const hex = randomBytes(4).toString('hex')
      const loop: LoopRecord = {
        operation_id: loopId(now, hex),
        operation_type: 'agent_research',
        status: 'pending',
        phase: 'designing',
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
        started_at: null,
        completed_at: null,
        request: req,
        experiment_id: experimentId(now, hex),
        strategy_name: req.strategy,
        budget_model: model,
        data_window: null,
        children: {},
        results: {},
        gates: {},
        shortcut: null,
        tokens: { design: 0, assess: 0, by_model: {} },
        error: null,
        orchestration_ms: 0,
        phase_ms: {},
        phase_started_at: null,
        hypotheses: { tested: [], proposed: [] },
      }
      await save(loop)
      armWallClock(loop)
      pump()
      if (loop.status === 'running') await save(loop)
      return loop
    },
    async get(id: string): Promise<LoopRecord> {
      const loop = loops.get(id) ?? (await store.get(id))
      if (!loop) throw notFound(id)
      return loop
    },
    /**
     * The loop once it has ended (or, with `since`, once it is saved with a later updated_at), else
     * as it is after `ms` or when `signal` aborts: answered at the save, not polled.
     */
    async wait(id: string, ms: number, { since, signal }: { since?: number; signal?: AbortSignal } = {}): Promise<LoopRecord> {
      // A live loop is in memory (no await before watching it); one read from the store has ended.
      const loop = loops.get(id) ?? (await store.get(id))
      if (!loop) throw notFound(id)
      const changed = (l: LoopRecord) => since !== undefined && Date.parse(l.updated_at) > since
      return waiters.waitFor(loop, ms, (l) => TERMINAL.has(l.status) || changed(l), signal)
    },
    list: (filter: { status?: LoopStatus[]; limit: number; offset: number }) => store.list(filter),
    cancel,
    /** Live view: the phase's share of 0–100 plus the running child's own progress within it. */
    async progress(loop: LoopRecord) {
      if (loop.status === 'completed') return { percentage: 100, current_step: 'Assessed' }
      const [from, to] = PHASE_SPAN[loop.phase]
      const childPhase = (Object.keys(PHASE_OF_CHILD) as ChildPhase[]).find((c) => PHASE_OF_CHILD[c] === loop.phase)
      const childId = childPhase ? loop.children[childPhase] : undefined
      const op = childId ? (await ctx.operations.get(childId))?.op : undefined
      const within = op ? (op.status === 'completed' ? 100 : op.progress.percentage) : 0
      return {
        percentage: Math.round((from + ((to - from) * within) / 100) * 10) / 10,
        current_step: `${loop.phase}${op?.progress.current_step ? `: ${op.progress.current_step}` : ''}`,
        child: op ? { operation_id: op.operation_id, status: op.status, percentage: op.progress.percentage } : null,
      }
    },
    async budget() {
      const used = await tokensToday()
      const models = new Set([...Object.keys(used), ...(defaultModel() ? [defaultModel()!] : [])])
      return {
        day: day(),
        tokens_per_day: options.tokensPerDay,
        models: Object.fromEntries(
          [...models].map((m) => [m, { used: used[m] ?? 0, remaining: Math.max(0, options.tokensPerDay - (used[m] ?? 0)) }]),
        ),
        max_loop_seconds: options.maxLoopSeconds,
        max_concurrent: limit(),
        running: runningCount(),
        pending: [...loops.values()].filter((l) => l.status === 'pending').length,
      }
    },
    /** Resolves once every loop has nothing left to do right now (tests, benches). */
    async idle() {
      while (busy.size) await Promise.all(busy.values())
    },
    close() {
      closed = true
      waiters.close()
      for (const off of watching.values()) off()
      for (const t of timers.values()) clearTimeout(t)
      watching.clear()
      timers.clear()
    },
  }
}

/** What assess needs of a training result (history and per-symbol details stay in the operation). */
function compactTraining(training: Record<string, unknown>) {
  const tm = obj(training.training_metrics)
  return {
    model_key: training.model_key,
    training_metrics: {
      final_train_accuracy: tm.final_train_accuracy,
      final_val_accuracy: tm.final_val_accuracy,
      final_train_loss: tm.final_train_loss,
      final_val_loss: tm.final_val_loss,
      epochs_trained: tm.epochs_trained,
    },
    test_metrics: training.test_metrics,
  }
}

export type ResearchLoops = Awaited<ReturnType<typeof createResearchLoops>>
