// Names are checked once, here, before they touch SQLite or a file name.
import { EdgelogError } from '../core/errors.ts'

const LEGAL = /^[a-zA-Z0-9._-]+$/
export const MAX_TOPIC_NAME = 249
export const MAX_GROUP_NAME = 255

/** Kafka's rules: [a-zA-Z0-9._-], 1 to 249 characters, not '.' or '..'. */
export function validateTopicName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new EdgelogError('INVALID_TOPIC', 'a topic name must be a non-empty string')
  if (name.length > MAX_TOPIC_NAME) throw new EdgelogError('INVALID_TOPIC', `a topic name has at most ${MAX_TOPIC_NAME} characters`)
  if (name === '.' || name === '..') throw new EdgelogError('INVALID_TOPIC', `'${name}' is not a valid topic name`)
  if (!LEGAL.test(name)) throw new EdgelogError('INVALID_TOPIC', 'a topic name may contain only ASCII letters, digits, ., _ and -')
  return name
}

/** Group ids: printable, bounded, no control characters. */
export function validateGroupName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new EdgelogError('INVALID_REQUEST', 'a group id must be a non-empty string')
  if (name.length > MAX_GROUP_NAME) throw new EdgelogError('INVALID_REQUEST', `a group id has at most ${MAX_GROUP_NAME} characters`)
  if (!LEGAL.test(name)) throw new EdgelogError('INVALID_REQUEST', 'a group id may contain only ASCII letters, digits, ., _ and -')
  return name
}
