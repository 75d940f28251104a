import { CST, Lexer } from 'yaml'

/**
 * How deeply a YAML text nests, counted on the lexer's tokens (linear, no recursion), so that a
 * document can be refused before the parser recurses into it: the parser's composer recurses once
 * per level, and from a few thousand levels of `[[[…` (12 KB) it exhausts the stack and V8 aborts
 * the whole process ("RegExpCompiler Allocation failed - process out of memory"), which no
 * try/catch and no worker thread contains. A level is an indentation step of block collections,
 * a compact `- ` / `? ` entry opened on the same line (`- - - 1`), or a flow bracket; each counts
 * at most once, so this can only over-estimate. Stops counting once past `stopAbove`.
 */
export function yamlNestingDepth(text: string, stopAbove = Number.POSITIVE_INFINITY): number {
  const indents: number[] = []
  let flow = 0
  let compact = 0
  let indent = 0
  let lineStart = true
  let max = 0
  for (const source of new Lexer().lex(text)) {
    const type = CST.tokenType(source)
    if (type === 'newline') {
      lineStart = true
      compact = 0
      indent = 0
      continue
    }
    if (type === 'space') {
      if (lineStart) indent = source.length
      continue
    }
    if (type === 'comment' || type === 'doc-mode' || type === 'byte-order-mark') continue
    if (lineStart && flow === 0) {
      // A line's first token: block collections opened on earlier lines close when it is indented less.
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop()
      indents.push(indent)
    }
    lineStart = false
    if (type === 'seq-item-ind' || type === 'explicit-key-ind') compact++
    else if (type === 'flow-seq-start' || type === 'flow-map-start') flow++
    else if ((type === 'flow-seq-end' || type === 'flow-map-end') && flow > 0) flow--
    const depth = indents.length + compact + flow
    if (depth > max) {
      max = depth
      if (max > stopAbove) return max
    }
  }
  return max
}
