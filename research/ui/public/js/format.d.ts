// Types of format.js for the TypeScript that imports it (the CLI); the dashboard runs the .js as it is.
import type { CompareFormat } from '../../../api/_compare.ts'

/** `v` with `d` decimals (en-US grouping); `–` when it is not a finite number. */
export function fixed(v: unknown, d?: number): string
/** A comparison cell: `missing` (default `–`) for null, text as it is, numbers by `format`. */
export function byFormat(v: number | string | null | undefined, format: CompareFormat, missing?: string): string
/** Seconds as ms, s, min or h, whichever reads best. */
export function duration(seconds: unknown): string
export function when(iso: string | null | undefined): string
export function ago(iso: string | null | undefined, now?: number): string
export const bytes: (n: unknown) => string
