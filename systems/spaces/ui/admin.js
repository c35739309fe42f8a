// Admin page: the admin token is entered here, kept in sessionStorage and sent as a Bearer header.
// Spaces (create, enable/disable, delete), feature toggles, live connections and request history,
// refreshed every 2 s. Text only via textContent.
(() => {
  const KEY = 'spaces.adminToken';
  const $ = (id) => document.getElementById(id);
  const tokenInput = $('admin-token');
  const errorEl = $('admin-error');
  let cursor;

  const api = async (method, path, body) => {
    const token = sessionStorage.getItem(KEY) ?? '';
    const res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const data = res.status === 204 ? {} : await res.json();
    if (!res.ok) throw new Error(`${data.error?.code ?? res.status}: ${data.error?.message ?? ''}`);
    return data;
  };

  const cell = (row, text) => {
    const td = document.createElement('td');
    td.textContent = String(text);
    row.append(td);
    return td;
  };

  const button = (label, onClick) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.addEventListener('click', () => onClick().then(refresh, showError));
    return b;
  };

  const showError = (e) => {
    errorEl.textContent = e.message;
  };

  const renderFeatures = (features) => {
    const box = $('features');
    box.replaceChildren();
    for (const [name, on] of Object.entries(features)) {
      const label = document.createElement('label');
      const cb = document.createElement('input');
      cb.type = 'checkbox';
      cb.checked = on;
      cb.dataset.testid = `feature-${name}`;
      cb.addEventListener('change', () =>
        api('PATCH', '/admin/features', { [name]: cb.checked }).then(refresh, showError),
      );
      label.append(cb, ` ${name} `);
      box.append(label);
    }
  };

  const renderSpaces = (spaces) => {
    const body = $('spaces');
    body.replaceChildren();
    for (const s of spaces) {
      const tr = document.createElement('tr');
      tr.dataset.testid = 'space-row';
      tr.dataset.spaceId = s.space_id;
      const link = document.createElement('a');
      link.href = `/s/${encodeURIComponent(s.space_id)}`;
      link.textContent = s.space_id;
      cell(tr, '').append(link);
      cell(tr, s.name);
      cell(tr, s.connections);
      cell(tr, s.queue_size);
      cell(tr, s.in_flight);
      const cb = document.createElement('input');
      cb.type = 'checkbox';
      cb.checked = s.enabled;
      cb.dataset.testid = 'space-enabled';
      cb.addEventListener('change', () =>
        api('PATCH', `/admin/spaces/${encodeURIComponent(s.space_id)}`, { enabled: cb.checked }).then(
          refresh,
          showError,
        ),
      );
      cell(tr, '').append(cb);
      cell(tr, '').append(
        button('delete', async () => {
          if (confirm(`Delete space ${s.space_id}? Its open requests fail.`))
            await api('DELETE', `/admin/spaces/${encodeURIComponent(s.space_id)}`);
        }),
      );
      body.append(tr);
    }
  };

  const renderConnections = (connections) => {
    const body = $('connections');
    body.replaceChildren();
    for (const c of connections) {
      const tr = document.createElement('tr');
      tr.dataset.testid = 'connection-row';
      for (const v of [c.id, c.space_id, c.address, c.in_flight, c.handled]) cell(tr, v);
      body.append(tr);
    }
  };

  const renderRequests = (requests, append) => {
    const body = $('requests');
    if (!append) body.replaceChildren();
    for (const r of requests) {
      const tr = document.createElement('tr');
      tr.dataset.testid = 'request-row';
      tr.dataset.status = r.status;
      for (const v of [r.request_id, r.space_id, r.status, r.attempts, new Date(r.created_at).toISOString()])
        cell(tr, v);
      body.append(tr);
    }
  };

  const refresh = async () => {
    if (!sessionStorage.getItem(KEY)) return;
    try {
      const [features, spaces, connections, requests] = await Promise.all([
        api('GET', '/admin/features'),
        api('GET', '/admin/spaces'),
        api('GET', '/admin/connections'),
        api('GET', '/admin/requests?limit=50'),
      ]);
      errorEl.textContent = '';
      renderFeatures(features.features);
      renderSpaces(spaces.spaces);
      renderConnections(connections.connections);
      renderRequests(requests.requests, false);
      cursor = requests.next_cursor;
    } catch (e) {
      showError(e);
    }
  };

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, tokenInput.value);
    tokenInput.value = '';
    refresh();
  });

  $('create-space').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.target;
    const name = form.elements.name.value;
    try {
      const created = await api('POST', '/admin/spaces', {
        space_id: form.elements.space_id.value,
        ...(name ? { name } : {}),
      });
      $('new-token').textContent = `app token for ${created.space_id} (shown once): ${created.app_token}`;
      form.reset();
      await refresh();
    } catch (e) {
      showError(e);
    }
  });

  $('more-requests').addEventListener('click', async () => {
    if (cursor === null || cursor === undefined) return;
    try {
      const page = await api('GET', `/admin/requests?limit=50&cursor=${cursor}`);
      renderRequests(page.requests, true);
      cursor = page.next_cursor;
    } catch (e) {
      showError(e);
    }
  });

  refresh();
  setInterval(refresh, 2000);
})();
