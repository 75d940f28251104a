import { defineCommand } from 'citty'
import { describeIndicators, type IndicatorInfo } from '../../trading/index.ts'
import { guard, table } from '../../runtime/cli/index.ts'

const defaults = (i: IndicatorInfo) => i.params.map((p) => `${p.name}=${p.default}`).join(' ') || '—'

function printOne(i: IndicatorInfo): void {
  console.log(`${i.type} — ${i.title}`)
  if (i.aliases.length) console.log(`aliases: ${i.aliases.join(', ')}`)
  console.log('')
  if (i.params.length)
    console.log(
      table(
        i.params.map((p) => ({ param: p.name, type: p.type, default: p.default, accepts: p.accepts, 'also named': p.aliases.join(', ') })),
        ['param', 'type', 'default', 'accepts', 'also named'],
      ),
    )
  else console.log('no params')
  console.log('')
  const [primary, ...rest] = i.outputs
  console.log(
    i.multi_output
      ? `outputs: ${primary} (primary: what a bare id reads), ${rest.join(', ')}; reference one as <id>.<output>`
      : `output: ${primary}; reference it as <id>`,
  )
  for (const c of i.conditional_outputs) console.log(`  with ${c.when}: also ${c.outputs.join(', ')}`)
  const warm = i.warmup ? `the first ${i.warmup} values are NaN (warm-up)` : 'no warm-up NaN'
  console.log(`at the defaults: needs at least ${i.min_bars} bar${i.min_bars === 1 ? '' : 's'}; ${warm}`)
}

export default defineCommand({
  meta: { name: 'indicators', description: 'List the indicators a strategy can use, or show one with its parameters and outputs' },
  args: {
    name: { type: 'positional', required: false, description: 'An indicator type or alias (e.g. macd, bbands); all when left out' },
    json: { type: 'boolean', description: 'Print JSON' },
  },
  run: ({ args }) =>
    guard(async () => {
      const name = typeof args.name === 'string' && args.name ? args.name : undefined
      const infos = describeIndicators(name)
      if (args.json) console.log(JSON.stringify(name ? infos[0] : infos, null, 2))
      else if (name) printOne(infos[0])
      else {
        console.log(
          table(
            infos.map((i) => ({ type: i.type, title: i.title, 'params (defaults)': defaults(i), outputs: i.outputs.join(', ') })),
            ['type', 'title', 'params (defaults)', 'outputs'],
          ),
        )
        console.log(`\n${infos.length} indicators; \`ktrdr indicators <type>\` shows one. Reference: docs/strategy-grammar.md`)
      }
    }),
})
