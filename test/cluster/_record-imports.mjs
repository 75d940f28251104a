// `node --import ./test/cluster/_record-imports.mjs …`: appends the URL of every module the process
// resolves through the ESM loader (its own files and packages alike) to $KTRDR_RECORD_IMPORTS, one
// a line. What a CLI start loaded, seen from outside without a debug switch in the CLI itself.
import { register } from 'node:module'

register('./_record-imports-hooks.mjs', import.meta.url, { data: { file: process.env.KTRDR_RECORD_IMPORTS } })
