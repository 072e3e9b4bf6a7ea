// Live comments for one video room (/?room=ID), on the edgelog client that every node serves
// at /v1/client.js. Comments are records of topic `comments` with key = room, so one room's
// comments share a partition and keep their order. The page subscribes to that partition from
// the start of the log and shows only its room's records; when the connection drops (or the
// node restarts) the client resumes from the offset after the last comment it showed, so the
// list catches up without a gap or a repeat, and without a reload.
import { EdgelogClient } from '/v1/client.js'

const topic = 'comments'
/** The page keeps the newest comments only: the DOM stays bounded in a busy room. */
const maxShown = 500
const maxAuthor = 40
const maxText = 500

const room = (new URLSearchParams(location.search).get('room') || 'lobby').slice(0, 100)
const $ = (id) => document.getElementById(id)
const list = $('comments')
const statusLine = $('status')
const errorLine = $('error')
$('room').textContent = `· room ${room}`
document.title = `${room} · live comments`

const client = new EdgelogClient() // this page's origin is the node
const producer = client.producer({ transport: 'ws', acks: '1', lingerMs: 0 })

// Exposed for tests and for the curious: what was shown, in order.
window.liveComments = { room, shown: [], gaps: [] }

function setStatus(status) {
  statusLine.dataset.status = status
  statusLine.textContent = status === 'live' ? 'live' : status === 'closed' ? 'disconnected' : `${status}…`
}

function showError(message) {
  errorLine.hidden = message === ''
  errorLine.textContent = message
}

/** A comment from the log is untrusted input: checked, and rendered as text only. */
function asComment(value) {
  if (typeof value !== 'object' || value === null) return undefined
  const { author, text, at } = value
  if (typeof author !== 'string' || typeof text !== 'string' || typeof at !== 'number') return undefined
  return { author: author.slice(0, maxAuthor), text: text.slice(0, maxText), at }
}

function render(record, comment) {
  const item = document.createElement('li')
  item.dataset.offset = String(record.offset)
  const author = document.createElement('span')
  author.className = 'author'
  author.textContent = comment.author
  const text = document.createElement('span')
  text.className = 'text'
  text.textContent = comment.text
  const time = document.createElement('time')
  time.dateTime = new Date(comment.at).toISOString()
  time.textContent = new Date(comment.at).toLocaleTimeString()
  item.append(author, text, time)
  const main = list.parentElement
  const atBottom = main.scrollHeight - main.scrollTop - main.clientHeight < 40
  list.append(item)
  while (list.childElementCount > maxShown) list.firstElementChild.remove()
  if (atBottom) main.scrollTop = main.scrollHeight
}

/** Which partition holds this room; retried while the node is unreachable. */
async function roomPartition() {
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await client.partitionFor(topic, room)
    } catch (error) {
      if (!error.retriable) throw error
      setStatus('reconnecting')
      await new Promise((resolve) => setTimeout(resolve, Math.random() * delay))
    }
  }
}

async function start() {
  const partition = await roomPartition()
  client.subscribe(
    topic,
    {
      from: 'earliest',
      partitions: [partition],
      onStatus: setStatus,
      onGap: (gap) => {
        window.liveComments.gaps.push(gap)
        $('gap').hidden = false
        $('gap').textContent = `${gap.to - gap.from} older comments are no longer kept`
      },
      onError: (error) => {
        if (error.code !== 'NETWORK_EXCEPTION') console.warn('live comments:', error.code, error.message)
      },
    },
    (record) => {
      if (record.key !== room) return // another room on the same partition
      const comment = asComment(record.value)
      if (comment === undefined) return
      window.liveComments.shown.push({ offset: record.offset, ...comment, shownAt: Date.now() })
      render(record, comment)
    },
  )
}

$('author').value = localStorage.getItem('live-comments-author') ?? ''
$('form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const author = $('author').value.trim().slice(0, maxAuthor)
  const text = $('text').value.trim().slice(0, maxText)
  if (author === '' || text === '') return
  localStorage.setItem('live-comments-author', author)
  $('text').value = ''
  showError('')
  try {
    // The comment appears when it comes back through the subscription, in log order, exactly
    // as every other viewer of the room sees it.
    await producer.send(topic, { key: room, value: { author, text, at: Date.now() } })
  } catch (error) {
    $('text').value ||= text
    showError(`not sent: ${error.message}`)
  }
})

start().catch((error) => {
  setStatus('closed')
  showError(`cannot start: ${error.message}`)
})
