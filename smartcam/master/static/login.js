import { $, api } from "./common.js";

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("error").textContent = "";
  const body = { username: $("username").value, password: $("password").value };
  if (!$("code-label").hidden) body.code = $("code").value;
  try {
    await api("POST", "/api/login", body);
    location.href = "/";
  } catch (err) {
    if (err.data && err.data.code_needed) {
      $("code-label").hidden = false;  // the password was right: now the second step
      $("code").focus();
    }
    $("error").textContent = err.message;
  }
});
api("GET", "/api/health").then((h) => {
  if (h.setup_needed) $("error").textContent = "No user yet: open the setup link the master printed in its log.";
}).catch(() => {});
