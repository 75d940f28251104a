import { KtrdrError } from '../_errors.ts'
import { MODEL_TAG_RE, RESERVED_MODEL_TAGS } from '../layout.ts'

/** 400 MODEL_TAG_INVALID naming the tag unless it is a valid, unreserved tag name. */
export function checkTag(tag: string): void {
  const reserved = RESERVED_MODEL_TAGS.includes(tag.toLowerCase())
  if (MODEL_TAG_RE.test(tag) && !reserved) return
  throw new KtrdrError({
    code: 'MODEL_TAG_INVALID',
    message: reserved
      ? `"${tag}" cannot be a tag: it always means the newest model of a symbol set`
      : `Tag ${JSON.stringify(tag.length > 60 ? `${tag.slice(0, 60)}…` : tag)} is not valid: a letter, then up to 39 letters, digits, _ or -`,
    details: { tag: tag.slice(0, 100) },
  })
}
