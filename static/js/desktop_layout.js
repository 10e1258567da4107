// Agent desktop layout below 1 100 px: Customer Info is a panel opened from the conversation
// header (a slide-over covering the conversation at phone width). The open state lives on
// .desktop, not on the panel, because the live poll replaces the panel and the header.
(function () {
  const desktop = document.querySelector(".desktop");
  if (!desktop) return;
  const wide = window.matchMedia("(min-width: 1101px)");
  const phone = window.matchMedia("(max-width: 700px)");
  let opener = null;

  const isOpen = () => desktop.dataset.info === "open";
  const others = () => [...desktop.children].filter((el) => el.id !== "customer-info");

  function sync() {
    const open = isOpen() && !wide.matches;
    document.querySelectorAll("button[data-info-open]").forEach((button) => {
      button.setAttribute("aria-expanded", String(open));
    });
    // At phone width the panel covers everything: what is under it is out of reach meanwhile.
    others().forEach((el) => { el.inert = open && phone.matches; });
  }

  function setOpen(open) {
    if (open) desktop.dataset.info = "open"; else delete desktop.dataset.info;
    sync();
    if (open) {
      const title = document.getElementById("info-title");
      if (title) title.focus();
    } else if (opener && opener.isConnected) {
      opener.focus();
    } else {
      const button = document.querySelector("button[data-info-open]");
      if (button) button.focus();
    }
  }

  document.addEventListener("click", (event) => {
    const openButton = event.target.closest("button[data-info-open]");
    if (openButton) {
      opener = openButton;
      setOpen(!isOpen());
    } else if (event.target.closest("[data-info-close]")) {
      setOpen(false);
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen() && !wide.matches) setOpen(false);
  });
  // At phone width opening a conversation is a new page showing only it: start there.
  const name = document.querySelector("[data-testid=conversation-name]");
  if (phone.matches && name && document.activeElement === document.body) {
    name.tabIndex = -1;
    name.focus({ preventScroll: true });
  }

  document.body.addEventListener("htmx:afterSettle", sync);
  wide.addEventListener("change", sync);
  phone.addEventListener("change", sync);
})();
