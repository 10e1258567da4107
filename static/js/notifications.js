// Browser notifications and a short sound for the agent's queue, opt-in per agent and per
// browser (remembered in localStorage under the user's id), never while the tab has focus.
//
// Sources call `window.deskNotifications.notify({key, title, body, url})`; `key` dedupes. The
// built-in source reads the contact list's poll (data-recent-inbound: the agent's own and
// unassigned open contacts, latest customer message first). A mention source plugs in the
// same way, e.g. polling /api/notifications/ and calling notify() for each new mention.
(function () {
  const desktop = document.querySelector(".desktop[data-user]");
  const toggle = document.querySelector("[data-notify-toggle]");
  if (!desktop || !toggle) return;
  const button = toggle.querySelector("button");
  const status = toggle.querySelector("[data-notify-status]");
  const storageKey = `cb-notify:${desktop.dataset.user}`;
  const supported = "Notification" in window;
  const sound = new Audio(toggle.dataset.sound);
  const shown = new Set();
  let newestSeen = null; // the newest customer message time the page knows about

  const wanted = () => localStorage.getItem(storageKey) === "on";
  const enabled = () => supported && wanted() && Notification.permission === "granted";

  function render() {
    const on = enabled();
    button.setAttribute("aria-pressed", String(on));
    document.documentElement.dataset.notify = on ? "on" : "off";
    if (!supported) status.textContent = "This browser cannot show notifications.";
    else if (wanted() && Notification.permission === "denied") {
      status.textContent = "Blocked by the browser: allow notifications for this site in its settings.";
    }
  }

  button.addEventListener("click", async () => {
    if (!supported) return render();
    if (enabled()) {
      localStorage.setItem(storageKey, "off");
      status.textContent = "Notifications off.";
      return render();
    }
    localStorage.setItem(storageKey, "on");
    const permission = await Notification.requestPermission();
    status.textContent = permission === "granted" ? "Notifications on: you are told of new customers and messages while this tab is in the background." : "";
    render();
  });

  function notify({ key, title, body, url }) {
    if (!enabled() || document.hasFocus() || shown.has(key)) return;
    shown.add(key);
    const notification = new Notification(title, { body, tag: key });
    notification.onclick = () => {
      window.focus();
      if (url) window.location.assign(url);
      notification.close();
    };
    sound.currentTime = 0;
    sound.play().catch(() => {}); // autoplay may be refused before any click: the notification stays
  }

  // The built-in source: customer messages newer than the newest this page has seen.
  function readQueue() {
    const list = document.getElementById("contact-list");
    if (!list || !list.dataset.recentInbound) return;
    const recent = JSON.parse(list.dataset.recentInbound);
    const urlOf = (id) => list.dataset.contactUrl.replace("/0/", `/${id}/`);
    const baseline = newestSeen;
    for (const entry of recent) {
      const at = Date.parse(entry.at);
      if (newestSeen === null || at > newestSeen) newestSeen = at;
      if (baseline === null || at <= baseline) continue; // known when the page loaded or polled
      notify({
        key: `message:${entry.id}:${entry.at}`,
        title: entry.mine ? `New message from ${entry.name}` : `${entry.name} is waiting`,
        body: entry.mine ? "In a conversation you hold." : "A customer in your unassigned queue wrote.",
        url: urlOf(entry.id),
      });
    }
    if (newestSeen === null) newestSeen = 0; // an empty queue: every later message is new
  }

  toggle.hidden = false;
  render();
  readQueue();
  document.body.addEventListener("htmx:afterSettle", readQueue); // idempotent: cheap to rerun
  window.deskNotifications = { notify };
})();
