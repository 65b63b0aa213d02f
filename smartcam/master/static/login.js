import { $, api } from "./common.js";

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("error").textContent = "";
  try {
    await api("POST", "/api/login", { username: $("username").value, password: $("password").value });
    location.href = "/";
  } catch (err) {
    $("error").textContent = err.message;
  }
});
api("GET", "/api/health").then((h) => {
  if (h.setup_needed) $("error").textContent = "No user yet: open the setup link the master printed in its log.";
}).catch(() => {});
