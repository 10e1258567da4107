// Browser notifications and a short sound for the agent's queue, opt-in per agent and per
// browser (remembered in localStorage under the user's id), never while the tab has focus.
// What is told, and whether the sound plays, follows the person's choices on their profile
// page (data-prefs-assigned / -unassigned / -mentions / -sound on the toggle: "on" or "off").
//
// Sources call `window.deskNotifications.notify({key, title, body, url})`; `key` dedupes. The
// built-in source reads the contact list's poll (data-recent-inbound: the agent's own and
// unassigned open contacts, latest customer message first). The mention source polls
// /api/notifications/?unread=1 (every few seconds, only while notifications are on) and calls
// notify() for each mention (or conversation assigned to the agent) newer than the newest the
// page was drawn with.
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

  // What the person chose on their profile page (data-prefs-*): each source and the sound.
  const prefers = (name) => toggle.dataset[`prefs${name[0].toUpperCase()}${name.slice(1)}`] !== "off";
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
    status.textContent = permission === "granted" ? "Notifications on: you are told of new customers, messages and mentions while this tab is in the background." : "";
    render();
    readMentions(); // from now on a new mention is told
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
    if (!prefers("sound")) return;
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
      if (!prefers(entry.mine ? "assigned" : "unassigned")) continue;
      notify({
        key: `message:${entry.id}:${entry.at}`,
        title: entry.mine ? `New message from ${entry.name}` : `${entry.name} is waiting`,
        body: entry.mine ? "In a conversation you hold." : "A customer in your unassigned queue wrote.",
        url: urlOf(entry.id),
      });
    }
    if (newestSeen === null) newestSeen = 0; // an empty queue: every later message is new
  }

  // Mentions in colleagues' notes: the page names the newest one there was when it was drawn;
  // later ones are new.
  let mentionsAfter = Number(toggle.dataset.mentionsAfter || 0);
  async function readMentions() {
    if (!enabled() || !prefers("mentions")) return;
    let answer;
    try {
      const response = await fetch(toggle.dataset.mentions, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      answer = await response.json();
    } catch {
      return; // offline for a moment: the next round asks again
    }
    const list = document.getElementById("contact-list");
    const mentions = Array.isArray(answer) ? answer : answer.results || [];
    for (const mention of mentions) {
      if (mention.id <= mentionsAfter) continue;
      const assigned = mention.kind === "assigned"; // automatic assignment gave it to them
      notify({
        key: `${mention.kind}:${mention.id}`,
        title: assigned ? `${mention.contact_name} was assigned to you` : `${mention.author_name || "A colleague"} mentioned you`,
        body: assigned ? "A new conversation is waiting for your answer." : `About ${mention.contact_name}: ${mention.note_text}`.slice(0, 180),
        url: list ? list.dataset.contactUrl.replace("/0/", `/${mention.contact}/`) : undefined,
      });
    }
    // Told, or seen while the tab had focus: either way not told again later.
    mentionsAfter = Math.max(mentionsAfter, ...mentions.map((mention) => mention.id));
  }

  toggle.hidden = false;
  render();
  readQueue();
  readMentions();
  setInterval(readMentions, Number(toggle.dataset.mentionsEvery || 8000));
  document.body.addEventListener("htmx:afterSettle", readQueue); // idempotent: cheap to rerun
  window.deskNotifications = { notify };
})();
