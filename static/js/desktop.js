// Agent desktop: keep the conversation scrolled to the newest message, Ctrl+Enter sends,
// the reply-window countdown and the list's ages tick.
(function () {
  const pane = () => document.getElementById("messages-pane");
  let stickToBottom = true;

  function scrollToBottom() {
    const el = pane();
    if (el) el.scrollTop = el.scrollHeight;
  }
  document.addEventListener("DOMContentLoaded", scrollToBottom);
  // Before any swap (the desk's poll brings the pane out of band, along with the list): was the
  // reader at the bottom? Then they stay there, with what is new.
  document.body.addEventListener("htmx:beforeSwap", () => {
    const el = pane();
    if (el) stickToBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  });
  document.body.addEventListener("htmx:afterSettle", () => { if (stickToBottom) scrollToBottom(); });

  // The list's poll renders rows without knowing which conversation is open: mark it again.
  function markOpenRow() {
    for (const row of document.querySelectorAll("[data-testid=contact-row]")) {
      const open = new URL(row.href).pathname === window.location.pathname;
      row.classList.toggle("active", open);
      if (open) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
  }
  document.body.addEventListener("htmx:afterSettle", markOpenRow);

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.id === "reply-text") {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  function tick() {
    const note = document.querySelector("[data-closes-at]");
    if (!note || !note.dataset.closesAt) return;
    const left = new Date(note.dataset.closesAt) - new Date();
    if (left <= 0) { note.textContent = "The reply window has closed: reload to see what is possible now."; return; }
    const hours = Math.floor(left / 3600000), minutes = Math.floor((left % 3600000) / 60000);
    const days = Math.floor(hours / 24);
    const span = days >= 1 ? `${days} d ${hours % 24} h` : `${hours} h ${minutes} min`;
    note.textContent = note.textContent.replace(/\d+ d \d+ h|\d+ h \d+ min/, span);
  }
  setInterval(tick, 30000);

  // The list's ages ("5 min") count on here, as agent_desktop.templatetags.desktop.short_age
  // writes them: the server draws a list again when it changes, not as time passes.
  function shortAge(seconds) {
    if (seconds < 60) return "now";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
    return `${Math.floor(seconds / 86400)} d`;
  }
  function ageRows() {
    for (const time of document.querySelectorAll("time.row-time[datetime]")) {
      const seconds = Math.max(0, (new Date() - new Date(time.getAttribute("datetime"))) / 1000);
      const text = shortAge(seconds);
      if (time.textContent !== text) time.textContent = text;
    }
  }
  setInterval(ageRows, 20000);
  // A tab back in front shows the right ages at once (a hidden tab's timers are slowed).
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") ageRows();
  });
})();
