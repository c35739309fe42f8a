// Space page: live app status and queue size (namespace /viewers, event space_state), a submit form,
// and the results of this page's requests as they arrive (event request_update). Text only via
// textContent. `io` is the global from /socket.io/socket.io.js.
(() => {
  const root = document.getElementById('space');
  const spaceId = root.dataset.spaceId;
  const status = document.getElementById('app-status');
  const queueSize = document.getElementById('queue-size');
  const live = document.getElementById('live-status');
  const form = document.getElementById('submit-form');
  const input = document.getElementById('submit-input');
  const error = document.getElementById('submit-error');
  const list = document.getElementById('results');
  const items = new Map();

  const setState = (s) => {
    if (s.deleted) {
      status.dataset.connected = 'false';
      status.textContent = 'space deleted';
      return;
    }
    const n = s.connections;
    status.dataset.connected = String(n > 0);
    status.textContent = n > 0 ? `connected (${n} app${n === 1 ? '' : 's'})` : 'no app connected';
    queueSize.textContent = String(s.queue_size);
  };

  const render = (v) => {
    const li = items.get(v.request_id);
    if (!li) return;
    li.dataset.status = v.status;
    li.querySelector('[data-testid="result-status"]').textContent = v.status;
    const out = li.querySelector('[data-testid="result-output"]');
    if (v.status === 'completed') out.textContent = JSON.stringify(v.result);
    else if (v.error) out.textContent = `${v.error.code}: ${v.error.message}`;
    else if (v.status === 'queued' && v.queue_position !== null)
      out.textContent = `position ${v.queue_position}`;
    else out.textContent = '';
  };

  const socket = io('/viewers');
  const follow = (id) =>
    socket.emit('follow', { request_id: id }, (ack) => {
      if (ack?.ok) render(ack.request);
    });
  socket.on('connect', () => {
    live.dataset.live = 'true';
    live.textContent = 'live';
    socket.emit('watch', { space_id: spaceId }, (ack) => {
      if (ack?.ok) setState(ack.space);
      else if (ack?.error) live.textContent = ack.error.message;
    });
    for (const id of items.keys()) follow(id);
  });
  socket.on('disconnect', () => {
    live.dataset.live = 'false';
    live.textContent = 'reconnecting…';
  });
  socket.on('space_state', setState);
  socket.on('request_update', render);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    let value = input.value;
    try {
      value = JSON.parse(value);
    } catch {
      // plain text input
    }
    try {
      const res = await fetch('/websockets/submit', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ space_id: spaceId, input: value }),
      });
      const body = await res.json();
      if (!res.ok) {
        error.textContent = `${body.error?.code ?? res.status}: ${body.error?.message ?? ''}`;
        return;
      }
      const li = document.createElement('li');
      li.dataset.testid = 'result-item';
      li.dataset.requestId = body.request_id;
      li.dataset.status = 'queued';
      const inputEl = document.createElement('code');
      inputEl.dataset.testid = 'result-input';
      inputEl.textContent = JSON.stringify(value);
      const st = document.createElement('span');
      st.dataset.testid = 'result-status';
      st.textContent = 'queued';
      const out = document.createElement('pre');
      out.dataset.testid = 'result-output';
      li.append(inputEl, ' ', st, out);
      list.prepend(li);
      items.set(body.request_id, li);
      follow(body.request_id);
      input.value = '';
    } catch (e) {
      error.textContent = String(e);
    }
  });
})();
