/**
 * Splits text arriving in chunks into lines (`\n` or `\r\n`), handing each complete line to
 * `onLine`; `end()` hands over the last one when the text does not end with a newline.
 */
export function createLineSplitter(onLine: (line: string) => void) {
  let rest = ''
  return {
    push(chunk: string) {
      const text = rest + chunk
      let start = 0
      let nl: number
      while ((nl = text.indexOf('\n', start)) >= 0) {
        onLine(text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl))
        start = nl + 1
      }
      rest = text.slice(start)
    },
    end() {
      if (rest) onLine(rest.replace(/\r$/, ''))
      rest = ''
    },
  }
}
