// Copy buttons: <button data-copy="#input-id">. Falls back to selecting the text.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copy);
  const status = document.querySelector("[data-copy-status]");
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    input.select();
    copied = document.execCommand && document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = copied ? "Copied ✓" : "Press Ctrl+C";
  button.classList.toggle("copied", copied);
  if (status) status.textContent = copied ? "Copied to the clipboard." : "Selected: press Ctrl+C to copy.";
  setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 2000);
});

// Live panels (data-poll) poll with hx-trigger="every …"; a hidden tab skips its polls. Done
// here rather than with a trigger filter, which htmx evaluates as code (the Content-Security-
// Policy forbids eval, and htmx-config turns allowEval off).
// The contact list (data-poll-notify) keeps polling while hidden when the agent turned browser
// notifications on (js/notifications.js marks <html data-notify="on">): that is when they matter.
document.addEventListener("htmx:confirm", (event) => {
  const elt = event.detail.elt;
  if (document.visibilityState !== "visible" && elt.hasAttribute("data-poll")) {
    const notifying = document.documentElement.dataset.notify === "on";
    if (!(notifying && elt.hasAttribute("data-poll-notify"))) event.preventDefault();
  }
});
// Such a poll says it comes from a hidden tab (away=1): the desk then leaves the open
// conversation alone, which it would otherwise mark read with nobody looking.
document.addEventListener("htmx:configRequest", (event) => {
  if (document.visibilityState !== "visible" && event.detail.elt.hasAttribute("data-poll-notify")) {
    event.detail.parameters.away = "1";
  }
});

// Top bar: below 900 px the menu folds behind a disclosure button (shown only when this script
// runs, so without scripts the menu simply stays open).
(function () {
  const button = document.querySelector("[data-menu-button]");
  if (!button) return;
  const menu = document.getElementById(button.getAttribute("aria-controls"));
  button.hidden = false;
  document.documentElement.classList.add("menu-ready");
  const setOpen = (open) => {
    button.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  };
  button.addEventListener("click", () => setOpen(button.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      button.focus();
    }
  });
})();

// Flash messages: dismissible, and put into their live region after load so screen readers
// announce them (content present when a page loads is not announced).
(function () {
  const region = document.querySelector(".messages[role=status]");
  if (!region) return;
  const list = region.querySelector("ul");
  list.remove();
  list.querySelectorAll("[data-dismiss-alert]").forEach((button) => { button.hidden = false; });
  setTimeout(() => region.append(list), 150);
  region.addEventListener("click", (event) => {
    const button = event.target.closest("[data-dismiss-alert]");
    if (!button) return;
    button.closest("li").remove();
    if (!list.children.length) region.remove();
    const main = document.getElementById("main");
    if (main) { main.tabIndex = -1; main.focus({ preventScroll: true }); }
  });
})();
