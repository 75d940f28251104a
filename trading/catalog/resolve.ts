import type { Storage } from 'unstorage'
import { KtrdrError } from '../_errors.ts'
import { modelVersionKey, type LatestPointer } from '../layout.ts'
import { checkTag } from './_tag.ts'
import { readModelCatalog, type ModelSetEntry } from './read.ts'

/**
 * A model named by what it is rather than by its version: `<strategy>/<tf>_latest`,
 * `<strategy>[/<tf>]@latest` or `<strategy>[/<tf>]@<tag>`.
 */
export interface ModelReference {
  strategy: string
  timeframe?: string
  tag: string | null
}

/** What the caller is going to run the model on: the symbols it must have been trained on, the timeframe. */
export interface ModelWant {
  symbols?: readonly string[]
  timeframe?: string
}

export interface ResolvedModelReference {
  /** `<strategy>/<tf>_v<N>` */
  key: string
  strategy: string
  timeframe: string
  version: number
  /** The symbol set of the version (sorted). */
  symbols: string[]
  set: string
  tag: string | null
}

const LATEST_REF = /^([^/@]+)\/([0-9]+[a-zA-Z]+)_latest$/
const TAG_REF = /^([^/@]+)(?:\/([0-9]+[a-zA-Z]+))?@([^/@]*)$/

/** The reference in `ref`, or null when it names a version or path instead. */
export function parseModelReference(ref: string): ModelReference | null {
  const latest = LATEST_REF.exec(ref)
  if (latest) return { strategy: latest[1], timeframe: latest[2], tag: null }
  const tagged = TAG_REF.exec(ref)
  if (!tagged) return null
  const tag = tagged[3]
  if (tag.toLowerCase() !== 'latest') checkTag(tag)
  return { strategy: tagged[1], ...(tagged[2] ? { timeframe: tagged[2] } : {}), tag: tag.toLowerCase() === 'latest' ? null : tag }
}

const setText = (e: ModelSetEntry) => `${e.symbols.join(',') || '(no symbols recorded)'} ${e.timeframe}`
const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((s) => b.includes(s))

/**
 * The version a reference means for a run on `want.symbols`: `latest` is the newest version
 * trained on a symbol set that contains them all (with no symbols given, a strategy must have one
 * set); a tag is the tagged version of the set equal to the symbols, else of the one set that
 * contains them. 404 MODEL_SET_NOT_FOUND lists the sets when none contains the symbols,
 * MODEL_TAG_NOT_FOUND the tags there are, 422 MODEL_AMBIGUOUS the candidates when several fit.
 * Null when `ref` is not a reference (a version key or a path).
 */
export async function resolveModelReference(models: Storage, ref: string, want: ModelWant = {}): Promise<ResolvedModelReference | null> {
  const parsed = parseModelReference(ref)
  if (!parsed) return null
  const catalog = await readModelCatalog(models, parsed.strategy)
  const timeframe = parsed.timeframe ?? want.timeframe
  const pointerOf = (e: ModelSetEntry): LatestPointer | null => (parsed.tag === null ? e.latest : (e.tags[parsed.tag] ?? null))
  const inTimeframe = catalog.sets.filter((e) => !timeframe || e.timeframe === timeframe)
  const candidates = inTimeframe.filter((e) => pointerOf(e))
  const where = `${catalog.strategy}${timeframe ? ` on ${timeframe}` : ''}`
  if (Object.keys(catalog.versions).length === 0)
    throw new KtrdrError({
      code: 'MODEL_NOT_FOUND',
      message: `No trained model yet for ${where}: train the strategy first (model folders are named after the strategy's name:)`,
      details: { model: ref },
    })
  const listed = (sets: ModelSetEntry[]) => sets.map((e) => `${setText(e)} → ${e.timeframe}_v${pointerOf(e)!.version}`).join('; ')
  const details = (sets: ModelSetEntry[]) => ({
    model: ref,
    sets: sets.map((e) => ({ symbols: e.symbols, timeframe: e.timeframe, version: pointerOf(e)!.version })),
  })

  if (candidates.length === 0) {
    if (parsed.tag === null)
      throw new KtrdrError({
        code: 'MODEL_NOT_FOUND',
        message: `No trained model yet for ${where}: train the strategy first`,
        details: { model: ref },
      })
    const tagged = inTimeframe.flatMap((e) => Object.values(e.tags).map((t) => `${t.tag} (${setText(e)} → ${e.timeframe}_v${t.version})`))
    throw new KtrdrError({
      code: 'MODEL_TAG_NOT_FOUND',
      message: `No model of ${where} is tagged ${parsed.tag}: ${tagged.length ? `its tags are ${tagged.join(', ')}` : 'it has no tags yet'}; tag one with \`ktrdr model promote ${catalog.strategy} <version> --tag ${parsed.tag}\``,
      details: { model: ref, tag: parsed.tag },
    })
  }

  const symbols = [...new Set(want.symbols)]
  const fits = candidates.filter((e) => symbols.every((s) => e.symbols.includes(s)))
  if (fits.length === 0)
    throw new KtrdrError({
      code: 'MODEL_SET_NOT_FOUND',
      message: `No model of ${where}${parsed.tag ? ` tagged ${parsed.tag}` : ''} was trained on a symbol set containing ${symbols.join(', ')}; the sets are ${listed(candidates)}. Train on ${symbols.join(', ')}, or name a version (${catalog.strategy}/<tf>_v<N>) to run a model on symbols it was not trained on`,
      details: { ...details(candidates), symbols },
    })
  const timeframes = [...new Set(fits.map((e) => e.timeframe))]
  if (timeframes.length > 1)
    throw new KtrdrError({
      code: 'MODEL_AMBIGUOUS',
      message: `${ref} matches models on several timeframes (${listed(fits)}): name one, e.g. ${catalog.strategy}/${timeframes[0]}@${parsed.tag ?? 'latest'}, or give the timeframe`,
      details: details(fits),
    })

  let chosen: ModelSetEntry | undefined
  if (fits.length === 1) chosen = fits[0]
  else if (parsed.tag === null && symbols.length > 0)
    chosen = fits.reduce((a, b) => (pointerOf(b)!.version > pointerOf(a)!.version ? b : a))
  else if (parsed.tag !== null) chosen = fits.find((e) => sameSet(e.symbols, symbols))
  if (!chosen)
    throw new KtrdrError({
      code: 'MODEL_AMBIGUOUS',
      message: `${ref} means one model per symbol set here (${listed(fits)}): ${symbols.length ? `give exactly one of these sets as the symbols` : 'give the symbol to run on'}, or name the version`,
      details: { ...details(fits), symbols },
    })
  const version = pointerOf(chosen)!.version
  return {
    key: modelVersionKey(catalog.strategy, chosen.timeframe, version),
    strategy: catalog.strategy,
    timeframe: chosen.timeframe,
    version,
    symbols: chosen.symbols,
    set: chosen.set,
    tag: parsed.tag,
  }
}
