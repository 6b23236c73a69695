// Agora labelling page. Plain JavaScript, no build step, nothing loaded
// from elsewhere. The protocol is described in rlhf/wire.go.
'use strict';

(() => {
  const TOKEN_KEY = 'agora.labeler.token';
  const UNACKED_KEY = 'agora.labeler.unacked';
  const IDLE_MS = 30000;          // no input for this long pauses the timer
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const MAX_RATIONALE_BYTES = 4096;
  const CLOSE_AUTH_FAILED = 4001;
  const CLOSE_TOO_MANY_CONNECTIONS = 4029;

  const $ = (id) => document.getElementById(id);
  const el = {
    conn: $('conn'), connText: $('conn-text'),
    labeled: $('stat-labeled'), accuracy: $('stat-accuracy'),
    who: $('who'), whoName: $('who-name'), signout: $('signout'),
    signin: $('signin'), token: $('token'), signinError: $('signin-error'),
    work: $('work'), wait: $('wait'), task: $('task'),
    prompt: $('prompt'), left: $('left'), right: $('right'),
    choices: Array.from(document.querySelectorAll('.choice')),
    rationale: $('rationale'), submit: $('submit'),
    timer: $('timer'), timerState: $('timer-state'), status: $('status'),
  };

  let ws = null;
  let authed = false;
  let attempts = 0;
  let reconnectTimer = null;
  let refusal = '';               // the hub's reason for refusing this page, shown when it closes
  let seq = 0;
  let task = null;      // the task on screen: {id, prompt, left, right, deadline}
  let choice = null;    // 'left' | 'right' | 'tie' | 'both_bad'
  let unacked = loadJSON(UNACKED_KEY); // the label sent and not yet acknowledged

  // ---- storage ----

  function loadJSON(key) {
    try { return JSON.parse(localStorage.getItem(key) || 'null'); } catch (e) { return null; }
  }
  function saveJSON(key, v) {
    try {
      if (v === null) localStorage.removeItem(key); else localStorage.setItem(key, JSON.stringify(v));
    } catch (e) { /* private mode: keep it in memory only */ }
  }
  function getToken() {
    try { return localStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }
  function setToken(t) {
    try { if (t) localStorage.setItem(TOKEN_KEY, t); else localStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
  }

  // ---- time on task: active time only ----

  // The clock runs while a task is on screen, the tab is visible and the
  // labeler gave some input in the last IDLE_MS. Idle time after that is
  // not counted.
  const timer = (() => {
    let acc = 0;          // ms counted so far
    let since = null;     // performance.now() when the clock last started, or null
    let running = false;  // a task is on screen
    let idle = false;
    let idleTimer = null;

    const now = () => performance.now();
    const visible = () => document.visibilityState !== 'hidden';
    function pause(at) {
      if (since !== null) { acc += Math.max(0, (at === undefined ? now() : at) - since); since = null; }
    }
    function resume() {
      if (running && since === null && visible() && !idle) since = now();
    }
    function armIdle() {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => { idle = true; pause(); render(); }, IDLE_MS);
    }
    function activity() {
      if (idle) { idle = false; resume(); }
      armIdle();
    }
    function value() { return acc + (since === null ? 0 : now() - since); }
    function render() {
      el.timer.textContent = Math.floor(value() / 1000) + ' s';
      el.timerState.textContent = !running ? '' : !visible() ? '(paused: tab hidden)' : idle ? '(paused: idle)' : '';
    }
    document.addEventListener('visibilitychange', () => { if (visible()) { activity(); resume(); } else pause(); render(); });
    for (const type of ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart', 'input', 'focusin']) {
      document.addEventListener(type, activity, { capture: true, passive: true });
    }
    window.addEventListener('scroll', activity, { capture: true, passive: true });
    setInterval(render, 1000);
    return {
      start() { acc = 0; since = null; running = true; idle = false; armIdle(); resume(); render(); },
      stop() { pause(); running = false; render(); return value(); },
      value, render,
    };
  })();

  // ---- connection ----

  function setConn(state, text) {
    el.conn.dataset.state = state;
    el.connText.textContent = text;
  }

  function send(m) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(Object.assign({ v: 1 }, m)));
    return true;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const token = getToken();
    if (!token) { showSignin(''); return; }
    if (ws) { ws.onclose = null; ws.close(); }
    const url = new URL('ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    setConn('connecting', 'Connecting…');
    let sock;
    try { sock = new WebSocket(url.href); } catch (e) { scheduleReconnect(); return; }
    ws = sock;
    authed = false;
    sock.onopen = () => {
      setConn('connecting', 'Signing in…');
      // Sign in, re-send the label that was never acknowledged, then ask
      // for the task: the server answers in this order.
      send({ type: 'auth', id: nextID(), token });
      if (unacked) send(unacked);
      send({ type: 'resume', id: nextID() });
    };
    sock.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      handle(m);
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      authed = false;
      if (ev.code === CLOSE_AUTH_FAILED) {
        setToken('');
        showSignin(ev.reason === 'token revoked' ? 'Your token was revoked. Ask the miner for a new one.' : 'That token was not accepted. Check it and try again.');
        setConn('offline', 'Signed out');
        return;
      }
      if (ev.code === CLOSE_TOO_MANY_CONNECTIONS) {
        // Reconnecting would only take the place of another open page.
        setConn('offline', refusal || 'This token is open in too many other pages. Close one and reload this page.');
        refusal = '';
        return;
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempts);
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    attempts++;
    let left = Math.ceil(delay / 1000);
    setConn('offline', unacked ? `Offline, your last answer is not saved yet; reconnecting in ${left} s` : `Offline; reconnecting in ${left} s`);
    const started = Date.now();
    reconnectTimer = setTimeout(connect, delay);
    const countdown = setInterval(() => {
      if (!reconnectTimer) { clearInterval(countdown); return; }
      left = Math.max(0, Math.ceil((delay - (Date.now() - started)) / 1000));
      setConn('offline', `Offline; reconnecting in ${left} s`);
    }, 1000);
  }

  window.addEventListener('online', () => { if (!ws && getToken()) connect(); });

  function nextID() { seq++; return 'm' + seq + '-' + Date.now().toString(36); }

  // ---- messages from the hub ----

  function handle(m) {
    switch (m.type) {
      case 'hello':
        authed = true;
        attempts = 0;
        setConn('online', 'Connected');
        el.signin.hidden = true;
        el.work.hidden = false;
        el.who.hidden = false;
        el.whoName.textContent = 'Signed in as ' + m.labeler;
        showStats(m.stats);
        break;
      case 'task':
        showTask(m.task);
        break;
      case 'wait':
        if (!unacked) showWait();
        break;
      case 'ack':
        if (unacked && unacked.task_id === m.task_id) {
          unacked = null;
          saveJSON(UNACKED_KEY, null);
          setStatus('Saved.');
        }
        showStats(m.stats);
        break;
      case 'stats':
        showStats(m.stats);
        break;
      case 'error':
        onError(m);
        break;
      default:
        break;
    }
  }

  function onError(m) {
    if (m.code === 'auth_failed') return; // the close that follows handles it
    if (m.code === 'too_many_connections') { refusal = m.message; return; } // shown on the close that follows
    if (unacked && m.ref === unacked.id) {
      if (m.code === 'internal') {
        // Not stored: keep it and send it again after a reconnect.
        setStatus('The miner could not save your answer; it will be sent again.', true);
        if (ws) ws.close();
        return;
      }
      unacked = null;
      saveJSON(UNACKED_KEY, null);
      setStatus('Your answer was not accepted: ' + m.message, true);
      send({ type: 'resume', id: nextID() });
      return;
    }
    setStatus(m.message, true);
  }

  function showStats(s) {
    if (!s) return;
    el.labeled.textContent = String(s.labeled);
    if (typeof s.trap_accuracy === 'number') {
      el.accuracy.textContent = Math.round(s.trap_accuracy * 100) + '% of ' + s.traps_resolved;
    } else {
      el.accuracy.textContent = '–';
    }
  }

  // ---- the task on screen ----

  function showSignin(err) {
    el.signin.hidden = false;
    el.work.hidden = true;
    el.who.hidden = true;
    el.signinError.textContent = err || '';
    el.token.value = '';
    el.token.focus();
  }

  function showWait() {
    task = null;
    delete el.task.dataset.id;
    timer.stop();
    el.task.hidden = true;
    el.wait.hidden = false;
  }

  function showTask(t) {
    if (!t) return;
    if (task && task.id === t.id) return; // a re-send of what is on screen
    if (unacked && unacked.task_id === t.id) return; // answered; waiting for its ack
    task = t;
    el.task.dataset.id = t.id; // the task awaiting an answer; gone once answered
    el.wait.hidden = true;
    el.task.hidden = false;
    // textContent, never innerHTML: completions are untrusted text.
    el.prompt.textContent = t.prompt;
    el.left.textContent = t.left;
    el.right.textContent = t.right;
    el.rationale.value = '';
    setChoice(null);
    setBusy(false);
    setStatus('');
    window.scrollTo(0, 0);
    timer.start();
  }

  function setChoice(c) {
    choice = c;
    for (const b of el.choices) b.setAttribute('aria-pressed', String(b.dataset.choice === c));
    el.submit.disabled = !task || !c || !!unacked;
  }

  function setBusy(busy) {
    for (const b of el.choices) b.disabled = busy;
    el.rationale.disabled = busy;
    el.submit.disabled = busy || !choice;
  }

  function setStatus(text, isError) {
    el.status.textContent = text;
    el.status.classList.toggle('error', !!isError);
  }

  function choose(c) {
    if (!task || unacked) return;
    setChoice(c);
  }

  function submit() {
    if (!task || unacked) return;
    if (!choice) { setStatus('Choose an answer first: 1, 2, 3 or 4.', true); return; }
    const rationale = el.rationale.value.trim();
    if (new TextEncoder().encode(rationale).length > MAX_RATIONALE_BYTES) {
      setStatus(`The rationale is too long (at most ${MAX_RATIONALE_BYTES} bytes).`, true);
      return;
    }
    const ms = Math.ceil(timer.stop());
    unacked = { v: 1, type: 'label', id: nextID(), task_id: task.id, choice, rationale, time_on_task_ms: ms };
    if (!rationale) delete unacked.rationale;
    saveJSON(UNACKED_KEY, unacked);
    setBusy(true);
    setStatus(authed && send(unacked) ? 'Saving…' : 'Offline: your answer will be sent when the connection is back.');
    task = null;
    delete el.task.dataset.id;
  }

  // ---- input ----

  for (const b of el.choices) b.addEventListener('click', () => choose(b.dataset.choice));
  el.submit.addEventListener('click', submit);

  el.signin.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = el.token.value.trim();
    if (!t) return;
    setToken(t);
    el.signinError.textContent = '';
    attempts = 0;
    connect();
  });

  el.signout.addEventListener('click', () => {
    setToken('');
    if (ws) { const s = ws; ws = null; s.onclose = null; s.close(1000, 'signed out'); }
    setConn('offline', 'Signed out');
    showSignin('');
  });

  const KEY_CHOICES = { '1': 'left', '2': 'right', '3': 'tie', '4': 'both_bad', ArrowLeft: 'left', ArrowRight: 'right' };
  const CODE_CHOICES = { Digit1: 'left', Digit2: 'right', Digit3: 'tie', Digit4: 'both_bad', Numpad1: 'left', Numpad2: 'right', Numpad3: 'tie', Numpad4: 'both_bad' };

  // Shortcuts. In the rationale box keys type text (digits included), so
  // there Alt+1..4 choose, Ctrl/Cmd+Enter submits and Esc leaves the box;
  // everywhere else on the task 1..4 and the arrows choose, Enter submits
  // and R (or /) goes to the box. Other fields (the token) are left alone.
  document.addEventListener('keydown', (e) => {
    if (e.isComposing || e.defaultPrevented || el.task.hidden || el.work.hidden) return;
    const target = e.target;
    if (target === el.rationale) {
      if (e.key === 'Escape') {
        e.preventDefault();
        el.rationale.blur();
        (el.choices.find((b) => b.dataset.choice === choice) || el.choices[0]).focus();
      } else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        submit();
      } else if (e.altKey && !e.ctrlKey && !e.metaKey && CODE_CHOICES[e.code]) {
        e.preventDefault();
        choose(CODE_CHOICES[e.code]);
      }
      return;
    }
    if (target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Enter') {
      // Buttons other than the verdicts (sign out) keep their own Enter.
      if (target instanceof HTMLButtonElement && !target.classList.contains('choice') && target !== el.submit) return;
      e.preventDefault();
      submit();
      return;
    }
    if (KEY_CHOICES[e.key]) {
      e.preventDefault();
      choose(KEY_CHOICES[e.key]);
      return;
    }
    if (e.key === 'r' || e.key === 'R' || e.key === '/') {
      // Focus the box on keyup, so that the key itself is not typed into
      // it by an input event that arrives after keydown.
      e.preventDefault();
      focusOnKeyUp = e.key;
    }
  });
  let focusOnKeyUp = null;
  document.addEventListener('keyup', (e) => {
    if (focusOnKeyUp !== null && e.key === focusOnKeyUp) {
      focusOnKeyUp = null;
      if (!el.task.hidden && !el.rationale.disabled) el.rationale.focus();
    }
  });

  // ---- start ----

  if (getToken()) {
    connect();
  } else {
    showSignin('');
    setConn('offline', 'Not signed in');
  }
})();
