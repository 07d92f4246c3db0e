// The local ops page: plain DOM, no build step. Everything it shows comes from ./api/ (local/ops-page/server.ts);
// text is set with textContent only, so nothing a message or an order holds can run as markup.
'use strict';

const $ = (selector) => document.querySelector(selector);
const state = { status: undefined, order: undefined, queue: undefined, redrive: undefined };

/** An element with attributes (on* are listeners) and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : String(child ?? ''));
  return node;
}

async function api(path, init) {
  const response = await fetch(`api/${path}`, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `${response.status} ${response.statusText}`);
  return body;
}

function showError(error) {
  const box = $('#error');
  box.hidden = !error;
  box.textContent = error ? String(error.message || error) : '';
}

const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : '');
const replaceRows = (selector, rows) => $(`${selector} tbody`).replaceChildren(...rows);

async function refreshStatus() {
  const report = await api('status');
  $('#stack').textContent = report.stack;
  $('#updated').textContent = `updated ${time(new Date().toISOString())}`;
  replaceRows(
    '#queues',
    report.queues.map((q) => {
      const deadLetter = q.kind !== 'queue';
      const busy = Boolean(state.redrive && state.redrive.running);
      return el(
        'tr',
        { 'data-role': q.role, class: deadLetter && q.visible + q.inFlight > 0 ? 'nonempty' : undefined },
        el('td', { title: q.name }, q.role),
        el('td', {}, q.kind),
        el('td', { class: 'n visible' }, q.visible),
        el('td', { class: 'n in-flight' }, q.inFlight),
        el('td', { class: 'n' }, q.delayed),
        el(
          'td',
          {},
          deadLetter ? el('button', { class: 'peek', onclick: () => selectQueue(q.role).catch(showError) }, 'View messages') : '',
          ' ',
          q.kind === 'dlq' ? el('button', { class: 'primary redrive', 'data-role': q.role, disabled: busy || q.visible === 0, onclick: () => redrive(q.role).catch(showError) }, 'Start DLQ redrive') : '',
        ),
      );
    }),
  );
  replaceRows(
    '#sweeps',
    report.sweeps.map((run) =>
      el(
        'tr',
        {},
        el('td', { title: run.executionArn }, run.name),
        el('td', {}, run.status),
        el('td', {}, time(run.startedAt)),
        el('td', {}, run.summary ? Object.entries(run.summary.found).map(([k, v]) => `${k} ${v}`).join(', ') : ''),
        el('td', {}, run.summary ? Object.entries(run.summary.outcomes).map(([k, v]) => `${k} ${v}`).join(', ') : run.error || ''),
        el('td', { class: 'n' }, run.summary ? run.summary.failed : ''),
      ),
    ),
  );
}

async function selectQueue(role) {
  state.queue = role;
  const report = await api(`dlq/${encodeURIComponent(role)}?limit=20`);
  $('#messages-section').hidden = false;
  $('#messages-queue').textContent = `${report.queue} (${report.visible} visible)`;
  replaceRows(
    '#messages',
    report.messages.map((m) =>
      el(
        'tr',
        { 'data-message-id': m.messageId },
        el('td', {}, m.eventType || '?'),
        el('td', {}, m.orderId ? el('a', { onclick: () => selectOrder(m.orderId).catch(showError) }, m.orderId) : ''),
        el('td', { class: 'n' }, m.receiveCount),
        el('td', {}, time(m.sentAt)),
        el('td', {}, time(m.firstReceivedAt)),
        el('td', {}, [m.attributes.ERROR_CODE, m.attributes.ERROR_MESSAGE].filter(Boolean).join(': ')),
      ),
    ),
  );
}

async function redrive(role) {
  state.redrive = { role, running: true };
  $('#redrive').hidden = false;
  $('#redrive-label').textContent = `redrive ${role}`;
  $('#redrive-status').textContent = 'starting';
  try {
    let task = await api(`dlq/${encodeURIComponent(role)}/redrive`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    while (task.status === 'RUNNING' || task.status === 'CANCELLING') {
      showTask(task);
      await new Promise((resolve) => setTimeout(resolve, 400));
      task = await api(`dlq/${encodeURIComponent(role)}/redrive?taskHandle=${encodeURIComponent(task.taskHandle)}`);
    }
    showTask(task);
  } finally {
    state.redrive = { role, running: false };
  }
  if (state.queue === role) await selectQueue(role);
}

function showTask(task) {
  $('#redrive-label').textContent = `redrive ${task.queue} → ${task.destination}`;
  const bar = $('#redrive-bar');
  bar.max = Math.max(1, task.toMove);
  bar.value = task.status === 'NOTHING_TO_MOVE' ? bar.max : task.moved;
  $('#redrive-status').textContent = `${task.moved}/${task.toMove} ${task.status}${task.failureReason ? `: ${task.failureReason}` : ''}`;
}

async function refreshOrders() {
  const query = state.status ? `?status=${state.status}` : '';
  const report = await api(`orders${query}`);
  const tab = (status, label, count) =>
    el('button', { class: state.status === status ? 'selected' : undefined, 'data-status': status || 'ALL', onclick: () => ((state.status = status), refreshOrders().catch(showError)) }, `${label} ${count}`);
  const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
  $('#statuses').replaceChildren(tab(undefined, 'all', total), ...Object.entries(report.counts).map(([status, count]) => tab(status, status, count)));
  replaceRows(
    '#orders',
    report.orders.map((o) =>
      el('tr', { 'data-order-id': o.orderId, onclick: () => selectOrder(o.orderId).catch(showError) }, el('td', {}, o.orderId), el('td', {}, o.customerId), el('td', {}, o.status), el('td', {}, time(o.createdAt)), el('td', {}, time(o.statusChangedAt))),
    ),
  );
}

async function selectOrder(orderId) {
  state.order = orderId;
  const report = await api(`orders/${encodeURIComponent(orderId)}`);
  $('#timeline-section').hidden = false;
  $('#timeline-order').textContent = `${orderId} (${report.order.status})`;
  $('#timeline').replaceChildren(
    ...report.timeline.map((entry) => el('li', { 'data-kind': entry.kind }, el('span', { class: 'at' }, entry.at ? `${time(entry.at)}${entry.approximate ? '~' : ''}` : '—'), el('span', { class: 'kind' }, entry.kind), entry.what)),
  );
}

/** Orders placed, all events per second, and messages waiting (queues, DLQs), as polylines over the samples. */
async function refreshChart() {
  const { intervalMs, samples } = await api('history');
  const series = {
    placed: samples.map((s) => (s.events.OrderPlaced || 0) / (intervalMs / 1000)),
    events: samples.map((s) => Object.values(s.events).reduce((a, b) => a + b, 0) / (intervalMs / 1000)),
    depth: samples.map((s) => sumOf(s.depths, (role) => !/-dlq$/.test(role))),
    dlq: samples.map((s) => sumOf(s.depths, (role) => /-dlq$/.test(role))),
  };
  const [w, h, pad] = [600, 180, 18];
  const top = Math.max(1, ...Object.values(series).flat());
  const x = (i) => pad + (samples.length > 1 ? (i / (samples.length - 1)) * (w - 2 * pad) : 0);
  const y = (v) => h - pad - (v / top) * (h - 2 * pad);
  const svg = $('#chart');
  const ns = 'http://www.w3.org/2000/svg';
  const make = (tag, attributes, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  svg.replaceChildren(
    make('line', { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, stroke: '#c5ccd4' }),
    make('text', { x: 2, y: pad - 4, 'font-size': 11, fill: '#5f6b7a' }, String(Math.round(top * 10) / 10)),
    make('text', { x: pad, y: h - 3, 'font-size': 11, fill: '#5f6b7a' }, samples.length ? time(samples[0].at) : ''),
    make('text', { x: w - pad, y: h - 3, 'font-size': 11, fill: '#5f6b7a', 'text-anchor': 'end' }, samples.length ? time(samples[samples.length - 1].at) : ''),
    ...Object.entries(series).map(([name, values]) => make('polyline', { class: name, 'data-series': name, points: values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ') })),
  );
}

const sumOf = (depths, take) => Object.entries(depths).reduce((sum, [role, n]) => sum + (take(role) ? n : 0), 0);

/** Runs `refresh` every `ms`, one at a time; an error is shown until the next success. */
function every(ms, refresh) {
  const tick = () =>
    refresh()
      .then(() => showError(undefined))
      .catch(showError)
      .finally(() => setTimeout(tick, ms));
  tick();
}

every(1000, refreshStatus);
every(2000, refreshChart);
every(2000, refreshOrders);
every(2000, () => (state.order ? selectOrder(state.order) : Promise.resolve()));
