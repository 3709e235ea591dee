// store.js: what the chat page keeps in the browser's localStorage — the
// conversations (each a title and its messages) and the settings. Nothing leaves
// the browser except in the requests the page sends to its own server.
//
//   lathe-conversations  [{id, title, updated, messages: [{role, content, reasoning?, stats?}]}]
//                        newest first
//   lathe-current        the id of the open conversation
//   lathe-settings       {system, temperature, top_p, max_tokens, budget, reasoning}

const CONVERSATIONS = 'lathe-conversations', CURRENT = 'lathe-current', SETTINGS = 'lathe-settings';

// Llama-Nemotron's advice for reasoning models: temperature 0.6, top_p 0.95. Max tokens is
// set so that a model that never stops does not run to the end of its context.
export const DEFAULT_SETTINGS = { system: '', temperature: 0.6, top_p: 0.95, max_tokens: 512, budget: '',
                                  reasoning: false };

function read(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value === null ? fallback : value;
  } catch (e) {
    return fallback; // an unreadable entry (another version of the page): start afresh
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (e) {
    console.warn('lathe: could not save to localStorage:', e); // full or disabled: keep going
  }
}

export function loadSettings() {
  return { ...DEFAULT_SETTINGS, ...read(SETTINGS, {}) };
}

export function saveSettings(settings) {
  write(SETTINGS, settings);
}

export function loadConversations() {
  const list = read(CONVERSATIONS, []);
  return Array.isArray(list) ? list.filter((c) => c && typeof c.id === 'string' && Array.isArray(c.messages)) : [];
}

export function saveConversations(list) {
  write(CONVERSATIONS, list);
}

export function loadCurrentId() {
  return read(CURRENT, null);
}

export function saveCurrentId(id) {
  write(CURRENT, id);
}

export function newConversation() {
  const id = Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  return { id, title: '', updated: Date.now(), messages: [] };
}

// The title a conversation gets from its first message, until it is renamed.
export function titleFrom(text) {
  const line = text.trim().split('\n')[0];
  return line.length > 48 ? line.slice(0, 47) + '…' : line;
}
