// app.js: the chat page's logic — keeps the conversation, sends it to
// /v1/chat/completions with stream: true, and shows the server-sent chunks as
// they arrive: reasoning_content in a collapsible thinking section, content as
// the answer, then tokens and tokens/s from the usage chunk. The reasoning
// switch and the thinking budget become the request's `reasoning` and
// `thinking_budget` fields. Stop aborts the request (the server frees its slot).
'use strict';

const $ = (id) => document.getElementById(id);
const log = $('log'), input = $('input'), form = $('form');
let history = [];        // {role, content} of the conversation so far (answers without thinking)
let modelId = null;
let controller = null;   // AbortController of the request in flight

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
    $('model').textContent = modelId;
  } catch (e) {
    $('model').textContent = '(server unreachable)';
  }
}

function addMessage(role, text) {
  const div = document.createElement('div');
  div.className = 'msg ' + role;
  div.textContent = text;
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
  return div;
}

// An assistant bubble: thinking (collapsible, shown while it streams), answer, stats.
function addAnswer(reasoningOn) {
  const div = addMessage('assistant', '');
  const thinking = document.createElement('details');
  thinking.className = 'thinking';
  thinking.open = true;
  thinking.hidden = !reasoningOn;
  thinking.innerHTML = '<summary>Thinking</summary><div></div>';
  const answer = document.createElement('div');
  answer.className = 'answer';
  const stats = document.createElement('div');
  stats.className = 'stats';
  div.append(thinking, answer, stats);
  return { div, thinking, thinkText: thinking.querySelector('div'), answer, stats };
}

function setBusy(busy) {
  $('send').hidden = busy;
  $('stop').hidden = !busy;
  input.disabled = busy;
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

async function send(text) {
  const reasoningOn = $('reasoning').checked;
  history.push({ role: 'user', content: text });
  addMessage('user', text);
  const ui = addAnswer(reasoningOn);
  const body = { messages: history, stream: true, stream_options: { include_usage: true },
                 reasoning: reasoningOn ? 'on' : 'off' };
  if (modelId) body.model = modelId;
  const budget = $('budget').value.trim();
  if (reasoningOn && budget !== '') body.thinking_budget = parseInt(budget, 10);
  controller = new AbortController();
  setBusy(true);
  let content = '', thinking = '', first = null, usage = null, finish = null;
  const start = performance.now();
  try {
    const r = await fetch('v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body),
                                                  signal: controller.signal });
    if (!r.ok) {
      const j = await r.json().catch(() => ({}));
      throw new Error((j.error && j.error.message) || ('HTTP ' + r.status));
    }
    await readEvents(r, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return;
      const d = choice.delta || {};
      if ((d.reasoning_content || d.content) && first === null) first = performance.now();
      if (d.reasoning_content) {
        thinking += d.reasoning_content;
        ui.thinking.hidden = false;
        ui.thinkText.textContent = thinking;
      }
      if (d.content) {
        content += d.content;
        ui.answer.textContent = content;
        if (ui.thinking.open && thinking) ui.thinking.open = false; // the answer began: fold the thinking
      }
      if (choice.finish_reason) finish = choice.finish_reason;
      log.scrollTop = log.scrollHeight;
    });
  } catch (e) {
    const err = document.createElement('div');
    err.className = 'error';
    err.textContent = e.name === 'AbortError' ? '(stopped)' : 'Error: ' + e.message;
    ui.div.appendChild(err);
  } finally {
    controller = null;
    setBusy(false);
    input.focus();
  }
  if (!thinking) ui.thinking.hidden = true;
  history.push({ role: 'assistant', content });
  const end = performance.now();
  if (usage) {
    const seconds = first !== null ? (end - first) / 1000 : 0;
    const rate = seconds > 0 && usage.completion_tokens > 1 ? ((usage.completion_tokens - 1) / seconds).toFixed(1) : '–';
    ui.stats.textContent = `${usage.completion_tokens} tokens · ${rate} tokens/s · ` +
      `${((end - start) / 1000).toFixed(2)} s` + (finish === 'length' ? ' · cut at the length limit' : '');
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || controller) return;
  input.value = '';
  send(text);
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    form.requestSubmit();
  }
});
$('stop').addEventListener('click', () => { if (controller) controller.abort(); });
$('reset').addEventListener('click', () => {
  if (controller) controller.abort();
  history = [];
  log.textContent = '';
  input.focus();
});
loadModel();
input.focus();
