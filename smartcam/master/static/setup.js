// The token travels in the link's fragment: browsers never send a fragment to a server, so it
// stays out of nginx's log and any Referer.
import { $, api } from "./common.js";

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("error").textContent = "";
  if ($("password").value !== $("again").value) {
    $("error").textContent = "The two passwords differ.";
    return;
  }
  try {
    await api("POST", "/api/setup", {
      token: location.hash.slice(1), username: $("username").value, password: $("password").value,
    });
    history.replaceState(null, "", "/setup");
    location.href = "/";
  } catch (err) {
    $("error").textContent = err.message;
  }
});
if (!location.hash) $("error").textContent = "This page needs the whole setup link the master printed.";
