// Reading what an app left of a request body, so workerd keeps the client's connection alive.
/** Past this, an unread request body is cancelled (and the connection closed) rather than read. */
const DRAIN_MAX_BYTES = 1024 * 1024

/**
 * Reads what the app left of the request body (an answer given before the body was read: 404
 * for an unknown topic, 415, ...). Unread, workerd resets the client's keep-alive connection,
 * and the client's next request on it fails with ECONNRESET (seen with Bun's and Node's fetch
 * against Miniflare in a third of the tries). Node's and Bun's servers drain such bodies too.
 */
export async function drainUnread(request: Request): Promise<void> {
  if (request.body === null || request.bodyUsed) return
  const reader = request.body.getReader()
  let bytes = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      bytes += value.byteLength
      if (bytes > DRAIN_MAX_BYTES) {
        await reader.cancel()
        return
      }
    }
  } catch {
    // The client went away: nothing left to keep alive.
  }
}
