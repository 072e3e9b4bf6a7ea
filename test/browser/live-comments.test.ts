// The live comments example in a real Chromium (Debian's, driven by playwright-core, headless),
// against `npm run example:live-comments`'s server: viewers of a room see each other's comments
// within a second, and a page that stays open while the node is SIGKILLed and restarted shows
// every comment posted afterwards, in order, once, without a reload. A screenshot is kept in
// test-artifacts/. Without /usr/bin/chromium this test fails: it must never pass by skipping.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { BrowserContext, Page } from 'playwright-core'
import { EdgelogClient } from '../../src/client/index.ts'
import { assertChromiumInstalled, buildServedBundles, launchChromium, saveScreenshot, type Chromium } from '../helpers/chromium.ts'
import { freePort, removeDir, startServer, tempDir, type TestServer } from '../helpers/server.ts'


interface Shown {
  offset: number
  author: string
  text: string
  at: number
  shownAt: number
}

declare global {
  interface Window {
    liveComments: { room: string; shown: Shown[]; gaps: unknown[] }
    loadToken?: string
  }
}

describe('live comments in Chromium', () => {
  let dataDir: string
  let port: number
  let node: TestServer
  let browser: Chromium
  let context: BrowserContext
  const pageErrors: string[] = []

  const startNode = () => startServer({ entry: 'examples/live-comments/server.ts', dataDir, port })

  async function openRoom(room: string): Promise<Page> {
    const page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(`${room}: ${error.message}`))
    page.on('console', (message) => {
      // Chromium logs each refused reconnect while the node is down; those are expected.
      if (message.type() === 'error' && !/WebSocket connection to .* failed/.test(message.text())) {
        pageErrors.push(`${room}: console: ${message.text()}`)
      }
    })
    await page.goto(`${node.url}/?room=${encodeURIComponent(room)}`)
    await page.waitForSelector('#status[data-status="live"]', { timeout: 15_000 })
    return page
  }

  async function post(page: Page, author: string, text: string) {
    await page.fill('#author', author)
    await page.fill('#text', text)
    await page.click('#send')
  }

  const shown = (page: Page) => page.evaluate(() => window.liveComments.shown)

  before(async () => {
    assertChromiumInstalled()
    // The page loads /v1/client.js: make sure the node serves the current client.
    buildServedBundles()
    dataDir = tempDir()
    port = await freePort() // the node must come back on the same port after its SIGKILL
    node = await startNode()
    browser = await launchChromium()
    context = browser.context
  })

  after(async () => {
    await browser?.close()
    await node?.stop('SIGKILL')
    if (dataDir) removeDir(dataDir)
  })

  test('two viewers of a room see each other’s comments within a second; another room sees none', async () => {
    const alice = await openRoom('video-1')
    const bob = await openRoom('video-1')
    const elsewhere = await openRoom('video-2')

    // `at` is stamped by the sending page when the form is submitted and `shownAt` by the
    // receiving page when the comment is on screen: one browser, one clock.
    await post(alice, 'alice', 'hello from alice')
    await bob.waitForFunction(() => window.liveComments.shown.some((c) => c.text === 'hello from alice'), null, { timeout: 10_000 })
    await post(bob, 'bob', 'hi alice')
    await alice.waitForFunction(() => window.liveComments.shown.some((c) => c.text === 'hi alice'), null, { timeout: 10_000 })
    const latency = (page: Page, text: string) =>
      page.evaluate((t) => window.liveComments.shown.filter((c) => c.text === t).map((c) => c.shownAt - c.at)[0]!, text)
    const aliceToBob = await latency(bob, 'hello from alice')
    const bobToAlice = await latency(alice, 'hi alice')
    assert.ok(aliceToBob < 1000, `alice → bob took ${aliceToBob} ms`)
    assert.ok(bobToAlice < 1000, `bob → alice took ${bobToAlice} ms`)
    console.log(`live comments: alice → bob ${aliceToBob} ms, bob → alice ${bobToAlice} ms (submit to on screen)`)
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => window.liveComments.shown.length === 2, null, { timeout: 10_000 })
      assert.deepEqual(
        (await shown(page)).map((c) => `${c.author}: ${c.text}`),
        ['alice: hello from alice', 'bob: hi alice'],
        'both viewers show the same comments in the same order',
      )
      assert.equal(await page.locator('#comments li').count(), 2)
    }
    assert.deepEqual(await shown(elsewhere), [], 'a viewer of another room sees none of them')
    await bob.close()
    await elsewhere.close()
  })

  test('a page open across a SIGKILL and restart of the node shows all 20 later comments, in order, once, without a reload', async () => {
    const viewer = context.pages().find((p) => p.url().includes('room=video-1')) ?? (await openRoom('video-1'))
    await viewer.waitForFunction(() => window.liveComments.shown.length === 2, null, { timeout: 10_000 })
    await viewer.evaluate(() => (window.loadToken = 'loaded-once'))

    await node.stop('SIGKILL')
    await viewer.waitForSelector('#status:not([data-status="live"])', { timeout: 15_000 })
    node = await startNode()

    // Posted right after the restart, very likely before the page has reconnected: it must
    // catch up from its last offset, then stay live.
    const client = new EdgelogClient({ url: node.url })
    const producer = client.producer({ acks: 'all', lingerMs: 0 })
    const texts = Array.from({ length: 20 }, (_, i) => `after restart #${i + 1}`)
    for (const text of texts) await producer.send('comments', { key: 'video-1', value: { author: 'carol', text, at: Date.now() } })
    await producer.close()
    client.close()

    await viewer.waitForFunction(() => window.liveComments.shown.length >= 22, null, { timeout: 30_000 })
    await viewer.waitForSelector('#status[data-status="live"]', { timeout: 15_000 })
    // The page's own form works again too, and its comment comes back through the log.
    await post(viewer, 'alice', 'still here')
    await viewer.waitForFunction(() => window.liveComments.shown.some((c) => c.text === 'still here'), null, { timeout: 15_000 })

    const list = await shown(viewer)
    assert.equal(await viewer.evaluate(() => window.loadToken), 'loaded-once', 'the page was not reloaded')
    assert.deepEqual(
      list.map((c) => c.text),
      ['hello from alice', 'hi alice', ...texts, 'still here'],
      'every comment once, in order',
    )
    const offsets = list.map((c) => c.offset)
    assert.ok(offsets.every((o, i) => i === 0 || o > offsets[i - 1]!), `offsets strictly increase: ${offsets.join(',')}`)
    assert.equal(await viewer.locator('#comments li').count(), list.length, 'the DOM holds each comment once')
    assert.deepEqual(await viewer.evaluate(() => window.liveComments.gaps), [])

    await saveScreenshot(viewer, 'live-comments')
    assert.deepEqual(pageErrors, [], 'no script errors in any page')
  })
})
