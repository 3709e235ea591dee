// app.js: the chat page's logic. It keeps conversations in the browser
// (store.js), sends the open one to /v1/chat/completions with stream: true and
// shows the server-sent chunks as they arrive: reasoning_content in a
// collapsible thinking section, content as the answer (markdown through
// render.js), then tokens and tokens/s from the usage chunk. The reasoning
// switch becomes the request's `reasoning` field (the server writes the system
// line 'detailed thinking on|off'); the system prompt is sent as plain text in
// the system message; temperature, top_p, max tokens and the thinking budget
// become the request fields of those names. Stop aborts the request (the server
// frees its slot). Messages can be copied, edited (the conversation goes on
// from the edited message) and regenerated.
import * as store from './store.js';
import { renderMarkdown } from './render.js';

const $ = (id) => document.getElementById(id);
const log = $('log'), input = $('input'), form = $('form');

// Problems of the kinds `lathe tasks gen` writes, so the demo's model has something it knows.
const EXAMPLES = [
  'What is 14 + 86?',
  'Compute the truth value of: not ((true and not true) or true)',
  'Put these numbers in ascending order: 81, 12, 50.',
  'A shop has 13 scarves. It sells 4 and gets 6 more. How many scarves does it have now?',
];

let conversations = store.loadConversations();
let current = null;        // the open conversation (in `conversations` once it has a message)
let settings = store.loadSettings();
let modelId = null;
let serverMaxTokens = null; // the most one request may ask for (the server's --max-tokens)
let controller = null;     // AbortController of the request in flight

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function apiKey() { return localStorage.getItem('lathe-api-key') || ''; }

function headers() {
  const h = { 'Content-Type': 'application/json' };
  if (apiKey()) h.Authorization = 'Bearer ' + apiKey();
  return h;
}

async function loadModel() {
  try {
    const r = await fetch('v1/models', { headers: headers() });
    if (r.status === 401) {
      const key = prompt('This server needs an API key:');
      if (key) { localStorage.setItem('lathe-api-key', key); return loadModel(); }
    }
    const j = await r.json();
    modelId = j.data[0].id;
    if (Number.isInteger(j.data[0].max_tokens)) serverMaxTokens = j.data[0].max_tokens;
    $('model').textContent = modelId;
  } catch (e) {
    $('model').textContent = '(server unreachable)';
  }
}

// ------------------------------------------------------------------ settings

const FIELDS = { system: 'system', temperature: 'temperature', top_p: 'top-p', max_tokens: 'max-tokens',
                 budget: 'budget' };

function showSettings() {
  for (const [key, id] of Object.entries(FIELDS)) $(id).value = settings[key];
  $('reasoning').checked = !!settings.reasoning;
}

function readSettings() {
  for (const [key, id] of Object.entries(FIELDS)) settings[key] = $(id).value;
  settings.reasoning = $('reasoning').checked;
  store.saveSettings(settings);
}

// A number field's value, or undefined when it is empty or not a number (the server's default then).
function numberOf(value, parse) {
  if (String(value).trim() === '') return undefined;
  const n = parse(value);
  return Number.isFinite(n) ? n : undefined;
}

// ------------------------------------------------------------------ the conversation list

function persist() {
  if (current.messages.length === 0) return; // an empty chat is not kept
  current.updated = Date.now();
  if (!current.title) current.title = store.titleFrom(current.messages[0].content);
  conversations = [current, ...conversations.filter((c) => c.id !== current.id)];
  store.saveConversations(conversations);
  store.saveCurrentId(current.id);
  renderSidebar();
}

function open(conversation) {
  if (controller) controller.abort();
  current = conversation;
  store.saveCurrentId(current.messages.length ? current.id : null);
  renderSidebar();
  renderLog();
  document.body.classList.remove('sidebar-open');
  input.focus();
}

function remove(conversation) {
  conversations = conversations.filter((c) => c.id !== conversation.id);
  store.saveConversations(conversations);
  if (current.id === conversation.id) open(store.newConversation());
  else renderSidebar();
}

function startRename(item, conversation) {
  const field = el('input', 'rename');
  field.value = conversation.title;
  field.setAttribute('aria-label', 'Conversation name');
  item.replaceChildren(field);
  field.focus();
  field.select();
  let done = false;
  const finish = (save) => {
    if (done) return;
    done = true;
    const title = field.value.trim();
    if (save && title) {
      conversation.title = title;
      store.saveConversations(conversations);
    }
    renderSidebar();
  };
  field.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') finish(true);
    if (e.key === 'Escape') finish(false);
  });
  field.addEventListener('blur', () => finish(true));
}

function renderSidebar() {
  const list = $('conversations');
  list.replaceChildren();
  for (const c of conversations) {
    const item = el('li', c.id === current.id ? 'conversation current' : 'conversation');
    const title = el('button', 'title', c.title || '(untitled)');
    title.type = 'button';
    title.title = c.title;
    title.addEventListener('click', () => open(c));
    const rename = el('button', 'icon rename', '✎');
    rename.type = 'button';
    rename.title = rename.ariaLabel = 'Rename';
    rename.addEventListener('click', () => startRename(item, c));
    const del = el('button', 'icon delete', '×');
    del.type = 'button';
    del.title = del.ariaLabel = 'Delete';
    del.addEventListener('click', () => remove(c));
    item.append(title, rename, del);
    list.appendChild(item);
  }
}

// ------------------------------------------------------------------ messages

function welcome() {
  const box = el('div', 'welcome');
  box.append(el('h2', '', 'Talk to your model'),
             el('p', '', 'Switch Reasoning on for a thinking section before the answer. ' +
                'Settings hold the system prompt, sampling and the thinking budget. Try one of these:'));
  const examples = el('div', 'examples');
  for (const text of EXAMPLES) {
    const b = el('button', 'example', text);
    b.type = 'button';
    b.addEventListener('click', () => { if (!controller) submit(text); });
    examples.appendChild(b);
  }
  box.appendChild(examples);
  return box;
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) { // no clipboard API outside a secure context (a LAN address): the old way
    const area = el('textarea');
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  const label = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => { button.textContent = label; }, 1200);
}

function action(label, onClick) {
  const b = el('button', 'action ' + label.toLowerCase(), label);
  b.type = 'button';
  b.addEventListener('click', () => { if (!controller) onClick(b); });
  return b;
}

// The element of message `index` of the open conversation.
function messageElement(index) {
  const m = current.messages[index];
  const div = el('div', 'msg ' + m.role);
  if (m.role === 'user') {
    div.appendChild(el('div', 'body', m.content));
    const actions = el('div', 'actions');
    actions.append(action('Copy', (b) => copyText(m.content, b)), action('Edit', () => startEdit(div, index)));
    div.appendChild(actions);
    return div;
  }
  const ui = answerParts(div);
  if (m.reasoning) {
    ui.thinking.hidden = false;
    ui.thinking.open = false;
    ui.thinkText.textContent = m.reasoning;
  }
  renderMarkdown(ui.answer, m.content);
  ui.stats.textContent = m.stats || '';
  ui.actions.append(action('Copy', (b) => copyText(m.content, b)), action('Regenerate', () => regenerate(index)));
  return div;
}

// The parts of an assistant bubble: thinking (collapsible), answer, stats, actions.
function answerParts(div) {
  const thinking = el('details', 'thinking');
  thinking.hidden = true;
  const summary = el('summary', '', 'Thinking');
  const thinkText = el('div');
  thinking.append(summary, thinkText);
  const answer = el('div', 'answer'), stats = el('div', 'stats'), actions = el('div', 'actions');
  div.append(thinking, answer, stats, actions);
  return { div, thinking, thinkText, answer, stats, actions };
}

function renderLog() {
  log.replaceChildren();
  if (current.messages.length === 0) log.appendChild(welcome());
  current.messages.forEach((m, i) => log.appendChild(messageElement(i)));
  log.scrollTop = log.scrollHeight;
}

function startEdit(div, index) {
  const area = el('textarea', 'editor');
  area.value = current.messages[index].content;
  area.rows = Math.min(10, area.value.split('\n').length + 1);
  const save = action('Send', () => {
    const text = area.value.trim();
    if (!text) return;
    current.messages = current.messages.slice(0, index);
    submit(text);
  });
  const cancel = action('Cancel', () => renderLog());
  const actions = el('div', 'actions');
  actions.append(save, cancel);
  div.replaceChildren(area, actions);
  area.focus();
}

function regenerate(index) {
  current.messages = current.messages.slice(0, index);
  renderLog();
  ask();
}

// ------------------------------------------------------------------ a request

function setBusy(busy) {
  $('send').hidden = busy;
  $('stop').hidden = !busy;
  input.disabled = busy;
  log.classList.toggle('busy', busy);
}

// Reads server-sent events from a fetch response, calling onData for each JSON payload.
async function readEvents(response, onData) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        onData(JSON.parse(data));
      }
    }
  }
}

function requestBody(reasoningOn) {
  const messages = current.messages.map((m) => ({ role: m.role, content: m.content }));
  const system = settings.system.trim();
  if (system) messages.unshift({ role: 'system', content: system });
  // A fresh seed each time, so Regenerate gives another answer (the server's default seed is fixed).
  const body = { messages, stream: true, stream_options: { include_usage: true }, reasoning: reasoningOn ? 'on' : 'off',
                 seed: Math.floor(Math.random() * 2147483647) };
  if (modelId) body.model = modelId;
  const fields = { temperature: numberOf(settings.temperature, parseFloat), top_p: numberOf(settings.top_p, parseFloat),
                   max_tokens: numberOf(settings.max_tokens, (v) => parseInt(v, 10)) };
  if (fields.max_tokens !== undefined && serverMaxTokens) fields.max_tokens = Math.min(fields.max_tokens, serverMaxTokens);
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) body[key] = value;
  const budget = numberOf(settings.budget, (v) => parseInt(v, 10));
  if (reasoningOn && budget !== undefined) body.thinking_budget = budget;
  return body;
}

function submit(text) {
  current.messages.push({ role: 'user', content: text });
  persist();
  renderLog();
  ask();
}

// Asks for an answer to the open conversation (its last message is the user's) and streams it in.
async function ask() {
  readSettings();
  const reasoningOn = settings.reasoning;
  const conversation = current;
  const body = requestBody(reasoningOn);
  const div = el('div', 'msg assistant');
  const ui = answerParts(div);
  ui.thinking.hidden = !reasoningOn;
  ui.thinking.open = true;
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
  controller = new AbortController();
  setBusy(true);
  let content = '', thinking = '', first = null, usage = null, finish = null, failure = null;
  // The text is drawn at most once a frame: parsing the whole answer again for every token
  // would cost the browser more than the model costs the server.
  let frame = 0;
  const paint = () => {
    frame = 0;
    if (thinking) {
      ui.thinking.hidden = false;
      ui.thinkText.textContent = thinking;
    }
    if (content) {
      renderMarkdown(ui.answer, content);
      if (ui.thinking.open && thinking) ui.thinking.open = false; // the answer began: fold the thinking
    }
    log.scrollTop = log.scrollHeight;
  };
  const start = performance.now();
  try {
    const post = () => fetch('v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body),
                                                      signal: controller.signal });
    let r = await post();
    let j = r.ok ? null : await r.json().catch(() => ({}));
    if (j && j.error && j.error.code === 'context_length_exceeded' && j.error.param === 'max_tokens') {
      delete body.max_tokens; // a long conversation: the server's default is what is left of the context
      r = await post();
      j = r.ok ? null : await r.json().catch(() => ({}));
    }
    if (j) throw new Error((j.error && j.error.message) || ('HTTP ' + r.status));
    await readEvents(r, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return;
      const d = choice.delta || {};
      if ((d.reasoning_content || d.content) && first === null) first = performance.now();
      if (d.reasoning_content) thinking += d.reasoning_content;
      if (d.content) content += d.content;
      if (choice.finish_reason) finish = choice.finish_reason;
      if (!frame) frame = requestAnimationFrame(paint);
    });
  } catch (e) {
    failure = e.name === 'AbortError' ? '(stopped)' : 'Error: ' + e.message;
  } finally {
    cancelAnimationFrame(frame);
    paint();
    controller = null;
    setBusy(false);
    input.focus();
  }
  if (!thinking) ui.thinking.hidden = true;
  const end = performance.now();
  let stats = '';
  if (usage) {
    const seconds = first !== null ? (end - first) / 1000 : 0;
    const rate = seconds > 0 && usage.completion_tokens > 1 ? ((usage.completion_tokens - 1) / seconds).toFixed(1) : '–';
    stats = `${usage.completion_tokens} tokens · ${rate} tokens/s · ` +
      `${((end - start) / 1000).toFixed(2)} s` + (finish === 'length' ? ' · cut at the length limit' : '');
  }
  if (conversation !== current) return; // another conversation was opened meanwhile
  if (failure && !content && !thinking) { // nothing to keep: show why, keep the question for a retry
    ui.div.appendChild(el('div', 'error', failure));
    ui.actions.append(action('Retry', () => { ui.div.remove(); ask(); }));
    return;
  }
  const message = { role: 'assistant', content };
  if (thinking) message.reasoning = thinking;
  if (stats || failure) message.stats = [stats, failure].filter(Boolean).join(' · ');
  conversation.messages.push(message);
  persist();
  ui.div.replaceWith(messageElement(conversation.messages.length - 1));
  log.scrollTop = log.scrollHeight;
}

// ------------------------------------------------------------------ wiring

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || controller) return;
  input.value = '';
  submit(text);
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    form.requestSubmit();
  }
});
$('stop').addEventListener('click', () => { if (controller) controller.abort(); });
$('reset').addEventListener('click', () => open(store.newConversation()));
$('menu').addEventListener('click', () => document.body.classList.toggle('sidebar-open'));
$('scrim').addEventListener('click', () => document.body.classList.remove('sidebar-open'));
$('settings-button').addEventListener('click', () => {
  const panel = $('settings');
  panel.hidden = !panel.hidden;
  $('settings-button').setAttribute('aria-expanded', String(!panel.hidden));
});
$('defaults').addEventListener('click', () => {
  settings = { ...store.DEFAULT_SETTINGS, system: settings.system, reasoning: settings.reasoning };
  showSettings();
  store.saveSettings(settings);
});
for (const id of [...Object.values(FIELDS), 'reasoning']) $(id).addEventListener('change', readSettings);

showSettings();
const last = conversations.find((c) => c.id === store.loadCurrentId());
open(last || store.newConversation());
loadModel();
