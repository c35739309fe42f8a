// Server-rendered HTML for the space page and the admin page. Every piece of user text goes through
// escapeHtml; the browser scripts (ui/space.js, ui/admin.js) only ever write text with textContent.
import type { RequestView, SpaceView } from '../relay.ts';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

function layout(title: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/ui/style.css">
</head>
<body>
${body}
<script src="/socket.io/socket.io.js"></script>
<script src="/ui/${script}"></script>
</body>
</html>
`;
}

const pretty = (v: unknown) => escapeHtml(JSON.stringify(v, null, 2) ?? '');

/** One request shown server-side (`/s/:id?request=<request_id>`): its input, status and result. */
function requestBlock(req: RequestView, input: unknown): string {
  const outcome =
    req.status === 'completed'
      ? `<pre data-testid="request-result">${pretty(req.result)}</pre>`
      : req.error
        ? `<pre data-testid="request-error">${escapeHtml(`${req.error.code}: ${req.error.message}`)}</pre>`
        : '';
  return `<section id="request" data-testid="request" data-request-id="${escapeHtml(req.request_id)}" data-status="${req.status}">
<h2>Request <code>${escapeHtml(req.request_id)}</code>: <span data-testid="request-status">${req.status}</span></h2>
<h3>Input</h3><pre data-testid="request-input">${pretty(input)}</pre>
${outcome}
</section>`;
}

export function spacePage(space: SpaceView, shown?: { view: RequestView; input: unknown }): string {
  const connected = space.connections > 0;
  const body = `<main id="space" data-space-id="${escapeHtml(space.space_id)}">
<h1 data-testid="space-name">${escapeHtml(space.name)}</h1>
<p class="meta">space <code>${escapeHtml(space.space_id)}</code>${space.enabled ? '' : ' <strong data-testid="space-disabled">(disabled)</strong>'}</p>
<p>
  <span id="app-status" data-testid="app-status" data-connected="${connected}">${connected ? `connected (${space.connections} app${space.connections === 1 ? '' : 's'})` : 'no app connected'}</span>
  · queue <span id="queue-size" data-testid="queue-size">${space.queue_size}</span>
  · live <span id="live-status" data-testid="live-status" data-live="false">connecting…</span>
</p>
<form id="submit-form" data-testid="submit-form">
  <label for="submit-input">Input (JSON, or plain text)</label>
  <textarea id="submit-input" data-testid="submit-input" name="input" rows="4" required></textarea>
  <button type="submit" data-testid="submit-button">Submit</button>
  <p id="submit-error" data-testid="submit-error" role="alert"></p>
</form>
<h2>Results</h2>
<ol id="results" data-testid="results"></ol>
${shown ? requestBlock(shown.view, shown.input) : ''}
</main>`;
  return layout(`${space.name} · spaces`, body, 'space.js');
}

export function adminPage(): string {
  const body = `<main id="admin">
<h1>Spaces admin</h1>
<form id="token-form" data-testid="token-form">
  <label for="admin-token">Admin token</label>
  <input id="admin-token" data-testid="admin-token" type="password" autocomplete="off" required>
  <button type="submit">Use</button>
  <span id="admin-error" data-testid="admin-error" role="alert"></span>
</form>
<section>
  <h2>Features</h2>
  <div id="features" data-testid="features"></div>
</section>
<section>
  <h2>Spaces</h2>
  <form id="create-space" data-testid="create-space-form">
    <input name="space_id" data-testid="create-space-id" placeholder="space id" required>
    <input name="name" data-testid="create-space-name" placeholder="name (optional)">
    <button type="submit">Create</button>
  </form>
  <p id="new-token" data-testid="new-token"></p>
  <table><thead><tr><th>space</th><th>name</th><th>apps</th><th>queue</th><th>in flight</th><th>enabled</th><th></th></tr></thead>
  <tbody id="spaces" data-testid="spaces"></tbody></table>
</section>
<section>
  <h2>Connections</h2>
  <table><thead><tr><th>id</th><th>space</th><th>address</th><th>in flight</th><th>handled</th></tr></thead>
  <tbody id="connections" data-testid="connections"></tbody></table>
</section>
<section>
  <h2>Requests</h2>
  <table><thead><tr><th>request</th><th>space</th><th>status</th><th>attempts</th><th>created</th></tr></thead>
  <tbody id="requests" data-testid="requests"></tbody></table>
  <button id="more-requests" data-testid="more-requests" type="button">Older</button>
</section>
</main>`;
  return layout('spaces admin', body, 'admin.js');
}
