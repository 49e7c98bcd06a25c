// Hotline 12345 — shared page helpers: session, API calls, a self-reconnecting WebSocket.
const Hotline = (() => {
  const tokenKey = "hotline_token";
  const token = () => sessionStorage.getItem(tokenKey) || "";
  async function api(path, opts = {}) {
    const headers = Object.assign({ "Content-Type": "application/json" }, opts.headers || {});
    if (token()) headers["Authorization"] = "Bearer " + token();
    const res = await fetch(path, Object.assign({}, opts, { headers, credentials: "same-origin" }));
    if (res.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("login required"); }
    const text = await res.text();
    const body = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error((body && body.detail) ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : res.statusText);
    return body;
  }
  async function login(username, password) {
    const res = await fetch("/api/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }), credentials: "same-origin" });
    const body = await res.json();
    if (!res.ok) throw new Error(body.detail || "登录失败");
    sessionStorage.setItem(tokenKey, body.token);
    return body.user;
  }
  // WebSocket that reconnects by itself (pushed events; no polling timers needed for updates)
  function socket(path, onMessage, onState) {
    let ws, delay = 500, closed = false;
    function open() {
      const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path +
        (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token());
      ws = new WebSocket(url);
      ws.onopen = () => { delay = 500; onState && onState(true); };
      ws.onmessage = (e) => onMessage(JSON.parse(e.data));
      ws.onclose = () => { onState && onState(false); if (!closed) setTimeout(open, delay); delay = Math.min(delay * 2, 5000); };
      ws.onerror = () => ws.close();
    }
    open();
    return { close() { closed = true; ws && ws.close(); }, send(obj) { ws && ws.readyState === 1 && ws.send(JSON.stringify(obj)); } };
  }
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  return { api, login, socket, token, esc };
})();
