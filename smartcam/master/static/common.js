// What every master page shares: the API with the session's CSRF token, and DOM building
// with textContent only: camera names and messages come from the network and stay text.

let csrf = null;

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

// fetch JSON; a state change carries the CSRF token. Throws Error(message) on 4xx/5xx, and
// goes to the login page when the session is gone.
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const r = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401 && !path.startsWith("/api/login") && !path.startsWith("/api/setup")) {
    location.href = "/login";
  }
  if (!r.ok) throw Object.assign(new Error(data.error || `${r.status}`), { data });
  if (data.csrf) csrf = data.csrf;
  return data;
}

// Who is logged in (and the CSRF token for later changes); fills the header's user menu.
export async function me() {
  const data = await api("GET", "/api/me");
  const who = $("who");
  if (who) {
    who.replaceChildren(...[
      el("span", { text: `${data.user.name} (${data.user.role})` }),
      data.user.role === "admin" ? el("a", { href: "/users", text: "Users" }) : null,
      el("a", { href: "/users#sessions", text: "Sessions" }),
      logoutButton(),
    ].filter(Boolean));
  }
  return data.user;
}

function logoutButton() {
  const b = el("button", { type: "button", class: "link", text: "Log out" });
  b.addEventListener("click", async () => {
    await api("POST", "/api/logout").catch(() => {});
    location.href = "/login";
  });
  return b;
}

export function when(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return new Date(seconds * 1000).toLocaleString();
}

export function ago(seconds) {
  if (!seconds) return "never";
  const s = Math.max(0, Date.now() / 1000 - seconds);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}
