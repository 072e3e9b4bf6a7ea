// Waiting for behaviour instead of for time: poll a condition until it holds, with a generous
// deadline (the machine is shared) and a message that says what never happened.

/** Polls `check` every `everyMs` until it holds; throws "timed out waiting until <what>" after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
