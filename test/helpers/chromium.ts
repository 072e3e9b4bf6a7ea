// Debian's Chromium, headless, driven by playwright-core, for the tests in test/browser/. A
// missing /usr/bin/chromium fails the test (scripts/install-system-deps.sh installs it): a
// browser test must never pass by skipping.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { BUN, ROOT } from './server.ts'

export const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
/** Where the screenshots go (kept after the run, for a human to look at). */
export const ARTIFACTS = join(ROOT, 'test-artifacts')

export interface Chromium {
  context: BrowserContext
  /** Closes the browser and removes its profile. */
  close(): Promise<void>
}

/** Fails at once, before any node is started, when the browser is not installed. */
export function assertChromiumInstalled(): void {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-system-deps.sh (the browser test never skips)`)
}

/**
 * The node serves the client bundle (/v1/client.js) and the console from generated modules:
 * builds both now, so the browser gets what the sources say.
 */
export function buildServedBundles(): void {
  for (const script of ['scripts/build-client.ts', 'scripts/build-console.ts']) {
    const build = spawnSync(BUN, [script], { cwd: ROOT, encoding: 'utf8' })
    assert.equal(build.status, 0, `${script} failed:\n${build.stderr}`)
  }
}

/** Chromium on a fresh profile in a temporary folder. */
export async function launchChromium(options: { viewport?: { width: number; height: number } } = {}): Promise<Chromium> {
  assertChromiumInstalled()
  const profileDir = mkdtempSync(join(tmpdir(), 'edgelog-chromium-'))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, ...options })
  } catch (err) {
    rmSync(profileDir, { recursive: true, force: true })
    throw err
  }
  return {
    context,
    async close() {
      await context.close()
      rmSync(profileDir, { recursive: true, force: true })
    },
  }
}

/** Saves a full-page screenshot as test-artifacts/<name>.png. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}
