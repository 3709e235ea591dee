// render.js: how the chat page shows a model's answer — markdown (headings,
// lists, tables, code blocks) through marked, the result cleaned by DOMPurify
// before it reaches the page, so HTML in a model's output cannot run script.
// Both come from vendor/ (scripts/fetch-web-deps.sh); when either is missing the
// text is shown as it is, never as unsanitised HTML.

const marked = globalThis.marked, purify = globalThis.DOMPurify;
export const markdownAvailable = !!(marked && typeof marked.parse === 'function' &&
                                    purify && typeof purify.sanitize === 'function');

if (markdownAvailable) {
  // Links in answers open in a new tab and tell the target nothing about the page.
  purify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  });
}

// Puts `text` into `element`: sanitised markdown when the libraries are there, plain text otherwise.
export function renderMarkdown(element, text) {
  if (!markdownAvailable) {
    element.classList.add('plain');
    element.textContent = text;
    return;
  }
  const html = marked.parse(text, { gfm: true, breaks: true, async: false });
  element.innerHTML = purify.sanitize(html, { USE_PROFILES: { html: true } });
}
