// The browsable API's script. The API wants a Bearer token, which a link or a form cannot send,
// so this fetches the page's own URL as JSON with the token kept in sessionStorage, shows the
// response, and sends the page's forms. While logged in it follows GET /events and fetches the
// page's data again when another tab (or anyone sharing the list) changes it. The DOM is built
// with textContent, append and createElement only: API data never becomes markup.
'use strict'

const TOKEN = 'bucketlist.token'
const REFRESH = 'bucketlist.refresh'  // renews TOKEN when it expires, for as long as the session lasts
const EMAIL = 'bucketlist.email'
const FLASH = 'bucketlist.flash'  // a result to show on the next page (after a delete)
let shown = null  // the resource the page shows, once loaded: a move starts from its position
let shownIds = new Set()  // every id in the answer shown: the live updates' test of what it shows
let shownAnswer = null  // the status and body shown: a live refresh that gets them again redraws nothing
let loads = 0  // each load's number: only the latest one's answer is shown, whichever comes back first
let renewing = null  // the token renewal under way, which every request that needs one waits for

function byId(id) {
  return document.getElementById(id)
}

function link(href, text) {
  const anchor = document.createElement('a')
  anchor.href = href
  anchor.textContent = text
  return anchor
}

async function send(method, url, body, renewed) {
  const headers = {Accept: 'application/json'}
  const token = sessionStorage.getItem(TOKEN)
  if (token) headers.Authorization = 'Bearer ' + token
  const init = {method, headers, cache: 'no-store'}
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  const response = await fetch(url, init)
  // An access token lasts an hour, its session much longer: renew the token and ask once more.
  if (response.status === 401 && !renewed && !url.startsWith('/auth/') && await renewTokens()) {
    return send(method, url, body, true)
  }
  const text = await response.text()
  let data = null
  try {
    data = JSON.parse(text)
  } catch {
    // Not JSON (an empty body, say): shown as text.
  }
  return {response, text, data}
}

// True when the refresh token was exchanged for new tokens. Only one exchange at a time: the
// event stream and a request may find the token expired together, and a refresh token used twice
// ends the session.
function renewTokens() {
  if (!renewing) renewing = exchangeRefreshToken().finally(() => { renewing = null })
  return renewing
}

// Only a refused refresh token (401: the session ended) is forgotten with the access token; a
// busy server (503, 429) may renew it next time.
async function exchangeRefreshToken() {
  const refreshToken = sessionStorage.getItem(REFRESH)
  if (!refreshToken) return false
  const response = await fetch('/auth/refresh', {
    method: 'POST', cache: 'no-store', body: JSON.stringify({refresh_token: refreshToken}),
    headers: {Accept: 'application/json', 'Content-Type': 'application/json'}})
  if (response.status === 401) forgetToken()
  if (!response.ok) return false
  keepTokens(await response.json())
  return true
}

function keepTokens(tokens) {
  sessionStorage.setItem(TOKEN, tokens.access_token)
  sessionStorage.setItem(REFRESH, tokens.refresh_token)
}

function forgetToken() {
  sessionStorage.removeItem(TOKEN)
  sessionStorage.removeItem(REFRESH)
  sessionStorage.removeItem(EMAIL)
}

// --- Showing the resource -----------------------------------------------------------------------

// Fetches the page's resource and shows it. Live: a refresh for a change made elsewhere, which
// redraws only if something changed, and keeps what the person is typing (see prefill).
async function load(live = false) {
  const number = ++loads
  const {response, text, data} = await send('GET', location.pathname + location.search)
  if (number !== loads) return  // a later load is under way: its answer is the newer one
  // A token the API refuses even after a refresh (the session ended) is no use to keep.
  if (response.status === 401) forgetToken()
  const token = sessionStorage.getItem(TOKEN)
  if (token) listen()
  else stopListening()
  // The same answer again (the change was elsewhere in the account): nothing to redraw, no focus lost.
  const answer = `${response.status}\n${text}`
  if (live && answer === shownAnswer) return
  shownAnswer = answer
  byId('signed-in').hidden = !token
  byId('sign-in').hidden = Boolean(token)
  byId('forms').hidden = !token
  byId('email').textContent = sessionStorage.getItem(EMAIL) || ''

  const head = [`HTTP ${response.status} ${response.statusText}`]
  for (const [name, value] of response.headers) head.push(`${name}: ${value}`)
  byId('head').textContent = head.join('\n')
  // An empty list has no pages to go to.
  showPages(response.headers.get('X-Total-Count') === '0' ? null : response.headers.get('Link'))
  const body = byId('body')
  body.replaceChildren()
  if (data === null) body.textContent = text
  else writeJson(body, data, '')
  shown = response.ok && data !== null && !Array.isArray(data) ? data : null
  shownIds = idsIn(data, new Set())
  if (shown) prefill(shown, live)
}

function idsIn(value, ids) {
  if (value !== null && typeof value === 'object') {
    for (const [key, entry] of Object.entries(value)) {
      if (key === 'id' && Number.isInteger(entry)) ids.add(entry)
      else idsIn(entry, ids)
    }
  }
  return ids
}

// The URL a value links to: ids of bucketlists, items and labels, an item's bucketlist. Only integers
// make a link, so no text from the API ever becomes an href.
function linkFor(object, key) {
  const id = object[key]
  if (!Number.isInteger(id)) return null
  if (key === 'bucketlist_id') return `/bucketlists/${id}`
  // An activity entry's or a completion's item (which may be gone since).
  if (key === 'item_id' && Number.isInteger(object.bucketlist_id)) return `/bucketlists/${object.bucketlist_id}/items/${id}`
  if (key !== 'id') return null
  if ('kind' in object) return null // an activity entry's or a trash entry's own id: no page of its own
  if (Number.isInteger(object.bucketlist_id)) return `/bucketlists/${object.bucketlist_id}/items/${id}`
  // A step names its item, not the item's list: linked on its item's pages, which name both.
  const itemPath = location.pathname.match(/^\/bucketlists\/[0-9]+\/items\/[0-9]+/)
  if (Number.isInteger(object.item_id) && itemPath) return `${itemPath[0]}/steps/${id}`
  if ('created_by' in object) return `/bucketlists/${id}`
  if ('colour' in object) return `/labels/${id}`
  return null
}

// Like JSON.stringify(value, null, 2), with the values linkFor knows as links.
function writeJson(out, value, indent) {
  const inner = indent + '  '
  if (Array.isArray(value)) {
    if (!value.length) return out.append('[]')
    out.append('[\n')
    value.forEach((entry, index) => {
      out.append(inner)
      writeJson(out, entry, inner)
      out.append(index < value.length - 1 ? ',\n' : '\n')
    })
    out.append(indent + ']')
  } else if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value)
    if (!keys.length) return out.append('{}')
    out.append('{\n')
    keys.forEach((key, index) => {
      out.append(inner + JSON.stringify(key) + ': ')
      const href = linkFor(value, key)
      if (href) out.append(link(href, JSON.stringify(value[key])))
      else writeJson(out, value[key], inner)
      out.append(index < keys.length - 1 ? ',\n' : '\n')
    })
    out.append(indent + '}')
  } else {
    out.append(JSON.stringify(value))
  }
}

// The Link header's pages (RFC 8288) in reading order, as links on this site only.
function showPages(header) {
  const urls = {}
  for (const [, url, rel] of (header || '').matchAll(/<([^>]*)>\s*;\s*rel="([a-z]+)"/g)) {
    if (url.startsWith('/') && !url.startsWith('//')) urls[rel] = url
  }
  const pages = byId('pages')
  pages.replaceChildren()
  for (const rel of ['first', 'prev', 'next', 'last']) {
    if (urls[rel]) pages.append(link(urls[rel], rel), ' ')
  }
}

// Fills the edit forms with the resource's current values. A live refresh leaves alone a form the
// person is editing (changed since it was filled, or a field of it focused): their typing is
// theirs, and the response above shows what changed.
function prefill(resource, live) {
  for (const form of document.querySelectorAll('form[data-prefill]')) {
    if (live && beingEdited(form)) continue
    delete form.dataset.edited
    for (const field of form.elements) {
      if (!(field.name in resource)) continue
      if (field.type === 'checkbox') field.checked = resource[field.name] === true
      else field.value = resource[field.name] === null ? '' : String(resource[field.name])
    }
  }
}

function beingEdited(form) {
  const focused = document.activeElement
  return 'edited' in form.dataset || (form.contains(focused) && focused.matches('input, select, textarea'))
}

// --- Live updates -------------------------------------------------------------------------------
// GET /events streams the account's changes as Server-Sent Events. EventSource cannot send the
// Bearer token, so the stream is read with fetch. A stream ends (after a while, with its access
// token): it is opened again from the last event's id (Last-Event-ID), which misses nothing.

const RETRY_MS = 2000  // the wait before opening the stream again, until a stream's retry field says
const MOST_MS = 30000  // the longest wait, after failures in a row
const SETTLE_MS = 250  // a change comes as a burst of events (one per object): one fetch for the burst
let listening = null  // the AbortController of the live updates while they run
let refreshTimer = null

// Starts the live updates, once: a later load finds them running.
function listen() {
  if (listening) return
  listening = new AbortController()
  follow(listening.signal)
}

// Ends them: logged out, or leaving the page (its fetch is aborted, not left to the browser).
function stopListening() {
  if (listening) listening.abort()
  listening = null
}

// Opens the stream again and again while the page listens: a while after it ended, longer after
// failures in a row (the server away, too many streams).
async function follow(signal) {
  const stream = {lastId: null, retry: RETRY_MS}
  let failures = 0
  while (!signal.aborted) {
    let outcome
    try {
      outcome = await readEvents(signal, stream)
    } catch {
      outcome = 'failed'  // the network, or the stream cut off (an abort too: the loop ends)
    }
    if (signal.aborted) return
    if (outcome === 'stop') {
      // The session ended (a logout, maybe in another tab): the page shows what the API now says.
      stopListening()
      load(true).catch(() => {})
      return
    }
    failures = outcome === 'failed' ? failures + 1 : 0
    await pause(Math.min(stream.retry * 2 ** failures, MOST_MS), signal)
  }
}

// One stream, read to its end. How it ended: 'ended' (as streams do), 'failed' or 'stop' (the
// session is over).
async function readEvents(signal, stream, renewed) {
  const token = sessionStorage.getItem(TOKEN)
  if (!token) return 'stop'
  const headers = {Accept: 'text/event-stream', Authorization: 'Bearer ' + token}
  if (stream.lastId) headers['Last-Event-ID'] = stream.lastId
  const response = await fetch('/events', {headers, cache: 'no-store', signal})
  // As send does: an expired access token is renewed, and the stream asked for once more.
  if (response.status === 401) return !renewed && await renewTokens() ? readEvents(signal, stream, true) : 'stop'
  if (response.status === 400 && stream.lastId) {
    stream.lastId = null  // an id the server no longer takes: from now, as below
    return 'ended'
  }
  if (!response.ok || !response.body) return 'failed'
  // Without an id the stream starts from now: what changed since the page's data was fetched is
  // not in it, so the data is fetched again.
  if (!stream.lastId) refreshSoon()
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const {value, done} = await reader.read()
    if (done) return 'ended'
    // Events end with a blank line (this server ends its lines with \n); the last part may be half an event.
    const blocks = (buffer + value).split('\n\n')
    buffer = blocks.pop()
    for (const block of blocks) {
      const outcome = dispatch(block, stream)
      if (outcome) {
        reader.cancel().catch(() => {})
        return outcome
      }
    }
  }
}

// One event: its fields (name: value, data lines joined); a line starting with ':' is a comment
// (a heartbeat). Says how the stream ended if the event ends it (a problem), else nothing.
function dispatch(block, stream) {
  const fields = {}
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const name = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    fields[name] = name === 'data' && 'data' in fields ? fields.data + '\n' + value : value
  }
  if (/^[0-9]+$/.test(fields.retry || '')) stream.retry = Number(fields.retry)
  if ('data' in fields) {
    let event = null
    try {
      event = JSON.parse(fields.data)
    } catch {
      // Not JSON: no event of this API's.
    }
    if (event && event.type === 'problem') return afterProblem(event.data, stream)
    if (event && typeof event.type === 'string' && concerns(event.type, event.data || {})) refreshSoon()
  }
  if ('id' in fields) stream.lastId = fields.id  // the sync cursor after the events so far
  return null
}

// A problem is a stream's last event. 401: the session ended. 410: the last id is too old to go on
// from, so from now. Anything else (the database away): try again in a while.
function afterProblem(problem, stream) {
  const status = problem && problem.status
  if (status === 401) return 'stop'
  if (status === 410) {
    stream.lastId = null
    return 'ended'
  }
  return 'failed'
}

// Whether a change may alter what the page shows. Under a bucketlist's URL: a change of the list
// or of its items, or of anything else the page shows by id (a step of an item shown, an item
// moved to another list, a deletion, which names only an id; ids of other kinds may match too,
// which costs only a fetch). Any other page (all lists, today's items, labels, the trash...) may
// show anything of the account's: any change.
function concerns(type, data) {
  const under = location.pathname.match(/^\/bucketlists\/([0-9]+)/)
  if (!under) return true
  const listId = Number(under[1])
  if (data.bucketlist_id === listId || (type.startsWith('bucketlist.') && data.id === listId)) return true
  return shownIds.has(data.id) || shownIds.has(data.item_id)
}

function refreshSoon() {
  if (refreshTimer !== null) return
  refreshTimer = setTimeout(() => {
    refreshTimer = null
    // A failed refresh leaves the page as it was: the next change tries again.
    load(true).catch(() => {})
  }, SETTLE_MS)
}

// Resolves after ms milliseconds, or at once when the live updates stop.
function pause(ms, signal) {
  return new Promise(resolve => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done)
  })
}

// --- Sending forms ------------------------------------------------------------------------------

async function submit(event) {
  event.preventDefault()
  const form = event.currentTarget
  for (const field of form.querySelectorAll('[aria-invalid]')) field.ariaInvalid = null
  const method = form.dataset.method
  let url = form.getAttribute('action')
  const fields = {}
  for (const field of form.elements) {
    if (!field.name) continue
    // An id that names the resource goes in the URL (digits only), not in the body: in place of
    // the action's {id}, or at its end.
    if ('inPath' in field.dataset) {
      const id = String(field.value).replace(/[^0-9]/g, '')
      url = url.includes('{id}') ? url.replace('{id}', id) : url + id
      continue
    }
    if (field.type === 'checkbox') fields[field.name] = field.checked
    else if (field.type === 'date' || field.type === 'time' || 'optional' in field.dataset) {
      fields[field.name] = field.value || null  // an empty date, time or zone: none
    }
    else if ('integer' in field.dataset) fields[field.name] = field.value === '' ? null : Number(field.value)
    else if ('ids' in field.dataset) {  // ids separated by commas: a list of numbers (empty: none)
      fields[field.name] = field.value.split(',').map(id => id.trim()).filter(id => id !== '').map(Number)
    }
    else fields[field.name] = field.value
  }
  // Move up and down: from the position the page shows, by the button's step, never before the first.
  if ('move' in form.dataset) {
    delete fields.step
    if (shown) fields.position = Math.max(0, shown.position + Number(event.submitter.value))
  }
  // A list or an item goes to the trash, where it can be restored; the rest goes for good.
  const toTrash = /^\/bucketlists\/[0-9]+(\/items\/[0-9]+)?$/.test(url)
  if (method === 'DELETE' && !confirm(`Delete ${url}? ${toTrash ? 'It goes to the trash, where you can restore it.'
    : 'This cannot be undone.'}`)) return
  const {response, data} = await send(method, url, Object.keys(fields).length ? fields : undefined)
  if ((form.id === 'login' || form.id === 'register') && response.ok) {
    // Registering logs you in too: nobody registers to be asked for the same password again.
    const login = form.id === 'login' ? data : (await send('POST', '/auth/login', fields)).data
    if (login && login.access_token) {
      keepTokens(login)
      sessionStorage.setItem(EMAIL, fields.email)
    }
  }
  if (form.id === 'logout') forgetToken()
  // Said in the form that was sent, beside what the person just did; on top where the form goes
  // away (logged in or out).
  const signs = form.id === 'logout' || (response.ok && (form.id === 'login' || form.id === 'register'))
  const said = signs ? byId('result') : form.querySelector('.result')
  showResult(said, method, url, response, data)
  markInvalid(form, data)
  if (!signs) said.scrollIntoView({block: 'nearest'})
  if (method === 'DELETE' && response.ok) {
    // What was deleted has no page any more: back to the list it was in, saying what happened.
    sessionStorage.setItem(FLASH, JSON.stringify([form.querySelector('.result').textContent, 'ok']))
    const item = /\/items\/[0-9]+$/
    const member = /\/members\/[0-9]+$/
    location.assign(item.test(url) ? url.replace(item, '')
      : member.test(url) ? url.replace(/\/[0-9]+$/, '') : url.replace(/[0-9]+$/, ''))
    return
  }
  if (response.ok && !('prefill' in form.dataset)) form.reset()
  if (response.ok || form.id === 'logout') await load()
}

function showFlash() {
  const flash = sessionStorage.getItem(FLASH)
  if (!flash) return
  sessionStorage.removeItem(FLASH)
  const [text, className] = JSON.parse(flash)
  byId('result').textContent = text
  byId('result').className = className
}

function showResult(result, method, url, response, data) {
  result.replaceChildren(`${method} ${url}: ${response.status} ${response.statusText}`)
  result.classList.remove('ok', 'failed')
  result.classList.add(response.ok ? 'ok' : 'failed')
  if (data === null || typeof data !== 'object') return
  if (typeof data.message === 'string') result.append('. ' + data.message)
  const created = response.status === 201 && linkFor(data, 'id')
  if (created) result.append('. ', link(created, 'Open ' + created))
  if (data.errors && typeof data.errors === 'object') {
    const list = document.createElement('ul')
    for (const [field, message] of Object.entries(data.errors)) {
      const entry = document.createElement('li')
      entry.textContent = `${field}: ${message}`
      list.append(entry)
    }
    result.append(list)
  }
}

// The fields a refusal names are marked invalid, for assistive technology and the styles.
function markInvalid(form, data) {
  if (!data || !data.errors || typeof data.errors !== 'object') return
  for (const name of Object.keys(data.errors)) {
    const field = form.elements.namedItem(name)
    if (field && 'ariaInvalid' in field) field.ariaInvalid = 'true'
  }
}

function showFailure(error) {
  const result = byId('result')
  result.textContent = 'The request failed: ' + error.message
  result.className = 'failed'
}

for (const form of document.querySelectorAll('form[data-method]')) {
  form.addEventListener('submit', (event) => submit(event).catch(showFailure))
}
// A form filled with the resource's values that the person changed is theirs until sent (prefill).
for (const form of document.querySelectorAll('form[data-prefill]')) {
  form.addEventListener('input', () => { form.dataset.edited = '' })
}
// Leaving the page closes its stream; coming back to it (the back button) brings it up to date.
addEventListener('pagehide', stopListening)
addEventListener('pageshow', (event) => {
  if (event.persisted) load(true).catch(() => {})
})
showFlash()
load().catch(showFailure)
