/** The compiled CLI entry under `root`, or why there is none to run. */
export function compiledCli(root: string): { entry: string } | { reason: string }
