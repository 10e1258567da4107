// Presence: while this desktop tab is open it beats every few seconds (POST
// /desktop/presence/beat/ active=1|0), `active` saying whether the agent used it (keys,
// pointer, focus) since the last beat. A hidden tab still beats (the agent is at work in
// another tab) but counts as unused, so its agent turns away after 10 idle minutes; no beats
// (every tab closed) make the agent offline after OFFLINE_AFTER. The answer says what the server counts them as,
// shown beside the away toggle.
(function () {
  const form = document.querySelector("form[data-presence]");
  if (!form) return;
  const every = Number(form.dataset.beatEvery || 20) * 1000;
  const status = form.querySelector("[data-presence-status]");
  const text = form.querySelector("[data-presence-text]");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  let used = true; // opening the page is using it

  for (const event of ["keydown", "pointerdown", "focusin", "wheel"]) {
    document.addEventListener(event, () => { used = true; }, { passive: true, capture: true });
  }

  function show(presence) {
    if (!["online", "away", "offline"].includes(presence)) return;
    status.className = `presence presence-${presence}`;
    text.textContent = presence;
  }

  async function beat() {
    const active = used && document.visibilityState === "visible";
    used = false;
    try {
      const response = await fetch(form.dataset.beat, {
        method: "POST",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        body: new URLSearchParams({ active: active ? "1" : "0" }),
        credentials: "same-origin",
      });
      if (response.ok) show((await response.json()).presence);
    } catch {
      used = used || active; // not heard: the next beat tells it again
    }
  }

  beat();
  setInterval(beat, every);
  // Back to this tab: say so at once rather than at the next tick.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      used = true;
      beat();
    }
  });
})();
