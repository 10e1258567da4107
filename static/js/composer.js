// Agent desktop composer and shortcuts: an image dropped or pasted becomes the reply's file
// (with a preview and a way to remove it), "typing…" is sent while the agent types (at most
// every 5 s; the server rate-limits too), and the keyboard shortcuts listed in the "?" dialog.
(function () {
  const TYPING_EVERY_MS = 5000;
  const SINGLE_KEYS = "desktop.singleKeyShortcuts";
  let lastTyping = 0;

  const composer = () => document.querySelector("form.composer");
  const csrf = () => (document.querySelector("form.composer [name=csrfmiddlewaretoken]") || {}).value;

  // --- The reply's file: picked, dropped or pasted, shown before it is sent ---------------
  // Drawn on a canvas from the file's decoded bitmap: no blob: or data: URL, which the
  // Content-Security-Policy's img-src (our origin and Facebook's media hosts) would refuse.
  function showPreview(form) {
    const input = form.querySelector("input[type=file]");
    const preview = form.querySelector("[data-attachment-preview]");
    if (!input || !preview) return;
    const file = input.files && input.files[0];
    const canvas = preview.querySelector("canvas");
    preview.hidden = !file;
    canvas.hidden = true;
    if (!file) return;
    preview.querySelector("[data-file-name]").textContent = file.name;
    if (!file.type.startsWith("image/")) return;
    createImageBitmap(file).then((bitmap) => {
      const scale = Math.min(1, 120 / bitmap.width, 72 / bitmap.height);
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      canvas.setAttribute("aria-label", `Preview of ${file.name}`);
      canvas.hidden = false;
    }).catch(() => {}); // not decodable here: the name alone is shown
  }

  function attach(form, file) {
    const input = form.querySelector("input[type=file]");
    if (!input || !file) return;
    const files = new DataTransfer();
    files.items.add(file);
    input.files = files.files;
    showPreview(form);
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("form.composer input[type=file]")) showPreview(event.target.form);
  });
  document.addEventListener("click", (event) => {
    const remove = event.target.closest("[data-remove-attachment]");
    if (!remove) return;
    const form = remove.closest("form");
    form.querySelector("input[type=file]").value = "";
    showPreview(form);
    form.querySelector("textarea").focus();
  });
  document.addEventListener("dragover", (event) => {
    const form = event.target.closest && event.target.closest("form.composer");
    if (!form) return;
    event.preventDefault();
    form.classList.add("dropping");
  });
  document.addEventListener("dragleave", (event) => {
    const form = event.target.closest && event.target.closest("form.composer");
    if (form && !form.contains(event.relatedTarget)) form.classList.remove("dropping");
  });
  document.addEventListener("drop", (event) => {
    const form = event.target.closest && event.target.closest("form.composer");
    if (!form) return;
    event.preventDefault();
    form.classList.remove("dropping");
    attach(form, event.dataTransfer.files[0]);
  });
  document.addEventListener("paste", (event) => {
    if (event.target.id !== "reply-text") return;
    const file = [...(event.clipboardData.files || [])].find((f) => f.type.startsWith("image/"));
    if (!file) return; // text pastes as text
    event.preventDefault();
    attach(event.target.form, file);
  });

  // --- "typing…" for the customer ------------------------------------------------------------
  document.addEventListener("input", (event) => {
    if (event.target.id !== "reply-text" || !event.target.value.trim()) return;
    const now = Date.now();
    if (now - lastTyping < TYPING_EVERY_MS) return;
    lastTyping = now;
    fetch(event.target.dataset.typingUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf() },
      credentials: "same-origin",
    }).catch(() => {}); // best effort: a lost indicator is no error for the agent
  });

  // --- Keyboard shortcuts ----------------------------------------------------------------
  const dialog = () => document.getElementById("shortcuts-dialog");
  const singleKeysOn = () => localStorage.getItem(SINGLE_KEYS) !== "off";

  function openShortcuts() {
    const d = dialog();
    if (!d || d.open) return;
    d.querySelector("[data-single-keys]").checked = singleKeysOn();
    d.showModal();
  }
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-open-shortcuts]")) openShortcuts();
    if (event.target.closest("[data-close-shortcuts]")) dialog().close();
  });
  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-single-keys]")) {
      localStorage.setItem(SINGLE_KEYS, event.target.checked ? "on" : "off");
    }
  });

  function go(step) {
    const rows = [...document.querySelectorAll("[data-testid=contact-row]")];
    if (!rows.length) return;
    const current = rows.findIndex((row) => new URL(row.href).pathname === window.location.pathname);
    const next = current === -1 ? (step > 0 ? 0 : rows.length - 1) : current + step;
    if (next >= 0 && next < rows.length) window.location.href = rows[next].href;
  }

  const ACTIONS = {
    j: () => go(1),
    k: () => go(-1),
    r: () => { const text = document.getElementById("reply-text"); if (text) text.focus(); },
    c: () => {
      const close = document.querySelector("#conversation-header form[action$='/close/'] button");
      if (close) close.click();
    },
    "?": openShortcuts,
  };

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && event.target.id === "reply-text") { event.target.blur(); return; }
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (typing || event.ctrlKey || event.metaKey || event.altKey || (dialog() && dialog().open)) return;
    const action = ACTIONS[event.key];
    if (!action || !singleKeysOn()) return;
    event.preventDefault();
    action();
  });
})();
