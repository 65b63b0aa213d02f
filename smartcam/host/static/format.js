// Numbers and times as a person reads them.

// Sizes in units of 1024, as smartcam.conf counts them; "–" when the host does not know.
export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  n = Number(n);
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n < 10 && i ? 1 : 0)} ${units[i]}`;
}

// A length of time, only as precise as it is useful: "45 s", "3 min 5 s", "2 h 10 min", "3 days".
export function duration(seconds) {
  seconds = Math.round(Number(seconds) || 0);
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${seconds % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} days`;
}

// An ISO time in the browser's time zone, "Today"/"Yesterday" for the days people look at most.
export function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso || "");
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86400000);
  const time = date.toLocaleTimeString([],
    { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (date.toDateString() === today.toDateString()) return `Today ${time}`;
  if (date.toDateString() === yesterday.toDateString()) return `Yesterday ${time}`;
  return `${date.toLocaleDateString()} ${time}`;
}

// How long ago a unix time (seconds) or an ISO time was; the host sends both kinds.
export function ago(unix) {
  if (!unix) return "never";
  const t = typeof unix === "number" ? unix * 1000 : Date.parse(unix);
  if (Number.isNaN(t)) return String(unix);
  return `${duration((Date.now() - t) / 1000)} ago`;
}
