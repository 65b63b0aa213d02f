import { $, api, el, me, when } from "./common.js";

function show(err) { $("error").textContent = err.message; }

async function sessions() {
  const data = await api("GET", "/api/sessions");
  $("session-list").replaceChildren(...data.sessions.map((s) => {
    const end = el("button", { type: "button", class: "link", text: s.id === data.current ? "Log out" : "End" });
    end.addEventListener("click", () => api("DELETE", `/api/sessions/${s.id}`)
      .then(() => (s.id === data.current ? (location.href = "/login") : sessions())).catch(show));
    return el("li", {}, `${s.address} · ${s.agent.slice(0, 60)} · since ${when(s.created)} · last ${when(s.last_seen)} `,
      s.id === data.current ? el("strong", { text: "(this one) " }) : null, end);
  }));
}

async function shares() {
  const data = await api("GET", "/api/shares");
  $("share-list").replaceChildren(...data.shares.map((s) => {
    const state = s.revoked ? "revoked" : s.expires < Date.now() / 1000 ? "expired" : `until ${when(s.expires)}`;
    const revoke = el("button", { type: "button", class: "link", text: "Revoke" });
    revoke.addEventListener("click", () => api("DELETE", `/api/shares/${s.id}`).then(shares).catch(show));
    return el("li", {}, el("a", { href: `/incident/${s.incident}`, text: `incident ${s.incident}` }),
      ` by ${s.creator} · ${state} · ${s.views} view(s)${s.pin ? " · PIN" : ""} `,
      s.revoked ? null : revoke);
  }));
}

async function users() {
  const data = await api("GET", "/api/users");
  $("user-list").replaceChildren(...data.users.map((u) => {
    const remove = el("button", { type: "button", class: "link", text: "Remove" });
    remove.addEventListener("click", () => api("DELETE", `/api/users/${encodeURIComponent(u.name)}`).then(users).catch(show));
    return el("tr", {}, el("td", { text: u.name }), el("td", { text: u.role }),
      el("td", { text: u.cameras ? u.cameras.join(", ") : "all" }), el("td", {}, remove));
  }));
  const audit = await api("GET", "/api/audit");
  $("audit").replaceChildren(...audit.audit.map((a) => el("li", { class: a.ok ? "" : "error",
    text: `${when(a.time)} ${a.user} from ${a.address}: ${a.action} ${a.detail}` })));
}

$("password-form").addEventListener("submit", (e) => {
  e.preventDefault();
  api("POST", "/api/password", { current: $("pw-current").value, new: $("pw-new").value })
    .then(() => { $("error").textContent = "Password changed."; sessions(); }).catch(show);
});
$("add-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const cams = $("add-cameras").value.split(",").map((c) => c.trim()).filter(Boolean);
  api("POST", "/api/users", { username: $("add-name").value, password: $("add-password").value,
    role: $("add-role").value, cameras: cams.length ? cams : null })
    .then(() => { e.target.reset(); users(); }).catch(show);
});

function totpState(user) {
  $("totp-state").textContent = user.totp ? "On: logging in asks for a code from your app." : "Off.";
  $("totp-start").textContent = user.totp ? "Set up a new app" : "Set up an authenticator app";
  $("totp-off").hidden = !user.totp;
}

$("totp-form").addEventListener("submit", (e) => {
  e.preventDefault();
  api("POST", "/api/totp/offer", { password: $("totp-password").value }).then((offer) => {
    $("totp-secret").textContent = offer.secret;
    $("totp-qr").src = offer.qr;
    $("totp-setup").hidden = false;
  }).catch(show);
});
$("totp-confirm").addEventListener("click", () => {
  api("POST", "/api/totp/confirm", { code: $("totp-code").value }).then((done) => {
    $("totp-setup").hidden = true;
    $("totp-code-list").replaceChildren(...done.recovery_codes.map((c) => el("li", { text: c })));
    $("totp-codes").hidden = false;
    totpState({ totp: true });
  }).catch(show);
});
$("totp-off").addEventListener("click", () => {
  api("POST", "/api/totp/off", { password: $("totp-password").value })
    .then(() => totpState({ totp: false })).catch(show);
});

me().then((user) => {
  totpState(user);
  sessions().catch(show);
  shares().catch(show);
  if (user.role === "admin") { $("admin").hidden = false; users().catch(show); }
});
