export type LoopStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled'
export type LoopPhase = 'designing' | 'training' | 'backtesting' | 'assessing' | 'done'
export type ChildPhase = 'design' | 'training' | 'backtest' | 'assess'

export const PHASE_OF_CHILD: Record<ChildPhase, LoopPhase> = {
  design: 'designing',
  training: 'training',
  backtest: 'backtesting',
  assess: 'assessing',
}

export interface GateOutcome {
  passed: boolean
  bypassed: boolean
  reasons: string[]
}

/** What POST /api/v1/research accepted (validated, defaults applied). */
export interface ResearchRequest {
  brief: string | null
  strategy: string | null
  model: string | null
  /**
   * The sampling seed design and assess get (drawn at random when the request gives none): a loop
   * started again with it and the same memory writes the same strategy. Absent in loops recorded
   * before requests carried one.
   */
  seed?: number
  bypass_gates: boolean
  constraints: Record<string, unknown> | null
  training: { start_date: string | null; end_date: string | null; epochs: number }
  backtest: { start_date: string | null; end_date: string | null }
}

/** One research loop: the parent operation of its design, training, backtest and assess children. */
export interface LoopRecord {
  operation_id: string
  operation_type: 'agent_research'
  status: LoopStatus
  phase: LoopPhase
  created_at: string
  updated_at: string
  started_at: string | null
  completed_at: string | null
  request: ResearchRequest
  experiment_id: string
  strategy_name: string | null
  /** The model the budget is counted against (the request's, or the llm hosts' own). */
  budget_model: string
  data_window: {
    symbol: string | null
    timeframe: string | null
    train: { start: string | null; end: string | null }
    backtest: { start: string | null; end: string | null }
  } | null
  children: Partial<Record<ChildPhase, string>>
  /** What each finished child returned that the next phases and the experiment record need. */
  results: Partial<Record<ChildPhase, Record<string, unknown> | null>>
  gates: { training?: GateOutcome; backtest?: GateOutcome }
  /** Why the loop went straight to assessment (a gate's rejection, a failed phase). */
  shortcut: string | null
  tokens: { design: number; assess: number; by_model: Record<string, number> }
  error: { message: string; code?: string } | null
  /** Time spent orchestrating (deciding, invoking, recording), children's own compute excluded. */
  orchestration_ms: number
  /** ms per phase from its start to its end (children's queueing and compute included). */
  phase_ms: Partial<Record<LoopPhase, number>>
  phase_started_at: string | null
  hypotheses: { tested: string[]; proposed: string[] }
}
