// Hotline 12345 — shared page helpers: session, API calls, a self-reconnecting WebSocket.
// The session lives only in the HttpOnly cookie set at login: scripts never see the token, and it is
// never put into a URL (WebSockets send the cookie with the handshake).
const Hotline = (() => {
  async function api(path, opts = {}) {
    const headers = Object.assign({ "Content-Type": "application/json" }, opts.headers || {});
    const res = await fetch(path, Object.assign({}, opts, { headers, credentials: "same-origin" }));
    if (res.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); throw new Error("请先登录"); }
    const text = await res.text();
    const body = text ? JSON.parse(text) : null;
    if (res.status === 403 && res.headers.get("X-Hotline-Password-Change") === "required") {
      location.href = "/login?change=1&next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error("需要先修改密码");
    }
    if (!res.ok) throw new Error((body && body.detail) ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : res.statusText);
    return body;
  }
  async function post(path, payload) {
    const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload), credentials: "same-origin" });
    const text = await res.text();
    const body = text ? JSON.parse(text) : {};
    if (!res.ok) {
      const d = body.detail;
      throw new Error(res.status === 429 ? "尝试次数过多，请 " + (res.headers.get("Retry-After") || "稍") + " 秒后再试"
        : (typeof d === "string" ? d : (d ? JSON.stringify(d) : "请求失败")));
    }
    return body;
  }
  async function login(username, password) {
    return (await post("/api/auth/login", { username, password })).user;
  }
  async function changePassword(current_password, new_password) {
    return (await post("/api/auth/password", { current_password, new_password })).user;
  }
  async function logout() {
    await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin" });
    location.href = "/login";
  }
  // only a path on this site may follow the login page (never //other.site or https://other.site)
  function safeNext(next) {
    if (!next) return null;
    try {
      const u = new URL(next, location.origin);
      return u.origin === location.origin ? u.pathname + u.search + u.hash : null;
    } catch (e) { return null; }
  }
  // WebSocket that reconnects by itself (pushed events; no polling timers needed for updates)
  function socket(path, onMessage, onState) {
    let ws, delay = 500, closed = false;
    function open() {
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      ws.onopen = () => { delay = 500; onState && onState(true); };
      ws.onmessage = (e) => onMessage(JSON.parse(e.data));
      ws.onclose = (e) => {
        onState && onState(false);
        if (e.code === 4401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); return; }
        if (!closed) setTimeout(open, delay); delay = Math.min(delay * 2, 5000);
      };
      ws.onerror = () => ws.close();
    }
    open();
    return { close() { closed = true; ws && ws.close(); }, send(obj) { ws && ws.readyState === 1 && ws.send(JSON.stringify(obj)); } };
  }
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  // One navigation bar across the staff pages (/ui/…): the pages this user's role may open, in Chinese,
  // the current one marked. Inserted under the page's header by itself, so a new page gets it too.
  const NAV = [
    ["/ui/agent", "话务员工作台", ["agent"]],
    ["/ui/cases", "工单受理", ["agent", "supervisor", "admin"]],
    ["/ui/search", "工单查询", ["agent", "supervisor", "admin", "unit"]],
    ["/ui/unit", "承办单位办理", ["unit"]],
    ["/ui/office", "督办看板", ["supervisor", "admin"]],
    ["/ui/handovers", "工单移交", ["agent", "supervisor", "admin"]],
    ["/ui/kb", "知识库", ["agent", "supervisor", "admin", "unit"]],
    ["/ui/voicemail", "语音留言", ["agent", "supervisor"]],
    ["/ui/callbacks", "回拨列表", ["agent", "supervisor", "admin"]],
    ["/ui/wallboard", "监控大屏", ["supervisor", "admin"]],
    ["/ui/reports", "统计报表", ["supervisor", "admin"]],
    ["/ui/exchange", "平台对接", ["admin"]],
    ["/ui/mail", "拒收邮件", ["admin"]],
    ["/ui/admin/users", "用户管理", ["admin"]],
  ];
  async function nav() {
    const header = document.querySelector("header.top");
    if (!header || !location.pathname.startsWith("/ui/") || document.getElementById("nav")) return;
    let me;
    try {
      const res = await fetch("/api/auth/me", { credentials: "same-origin" });
      if (!res.ok) return;
      me = await res.json();
    } catch (e) { return; }
    const el = document.createElement("nav");
    el.id = "nav"; el.className = "nav"; el.setAttribute("aria-label", "导航");
    el.innerHTML = NAV.filter(([, , roles]) => roles.includes(me.role)).map(([href, label]) =>
      `<a href="${href}"${location.pathname === href ? ' aria-current="page"' : ""}>${esc(label)}</a>`).join("") +
      '<a href="#" class="signout">退出登录</a>';
    el.querySelector(".signout").onclick = (e) => { e.preventDefault(); logout(); };
    header.after(el);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", nav); else nav();
  return { api, post, login, logout, changePassword, safeNext, socket, esc };
})();
