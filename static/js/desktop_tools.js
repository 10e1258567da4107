// Agent desktop, the team's tools: the composer's Reply / Private note switch, canned replies
// inserted by typing "/" and a shortcut (a listbox driven from the textarea, WAI-ARIA
// combobox-style keys), and the label filter that applies as soon as it changes.
(function () {
  const composer = () => document.querySelector(".composer");
  const noteMode = () => !!document.querySelector('input[name="composer_mode"][value="note"]:checked');

  // --- Reply / Private note -------------------------------------------------------------
  function applyMode() {
    const form = composer();
    const text = document.getElementById("reply-text");
    if (!form || !text) return;
    const note = noteMode();
    const label = form.querySelector('label[for="reply-text"]');
    label.dataset.replyLabel = label.dataset.replyLabel || label.textContent;
    text.dataset.replyPlaceholder = text.dataset.replyPlaceholder || text.placeholder;
    form.classList.toggle("note-mode", note);
    label.textContent = note ? label.dataset.noteLabel : label.dataset.replyLabel;
    text.placeholder = note ? text.dataset.notePlaceholder : text.dataset.replyPlaceholder;
    form.querySelector("[data-reply-button]").hidden = note;
    form.querySelector("[data-note-button]").hidden = !note;
    const filePick = form.querySelector(".file-pick");
    if (filePick) filePick.hidden = note;
    closeList();
  }
  document.addEventListener("change", (event) => {
    if (event.target.name === "composer_mode") { applyMode(); document.getElementById("reply-text").focus(); }
    if (event.target.matches("[data-submit-on-change]")) event.target.form.requestSubmit();
  });
  // Ctrl+Enter sends what the composer is in: a note must never go out as a reply.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.id === "reply-text" && noteMode()) {
      event.preventDefault();
      event.stopImmediatePropagation();
      event.target.form.requestSubmit(event.target.form.querySelector("[data-note-button]"));
    }
  }, true);

  // A conversation opened from a search shows its first hit rather than the newest message.
  document.addEventListener("DOMContentLoaded", () => {
    const hit = document.querySelector("#messages-pane mark");
    if (hit) hit.scrollIntoView({ block: "center" });
  });

  // --- Canned replies ---------------------------------------------------------------------
  let replies = null, shown = [], active = -1;
  const list = () => document.getElementById("canned-list");
  const status = () => document.getElementById("canned-status");

  function loadReplies() {
    if (replies === null) {
      const data = document.getElementById("canned-replies-data");
      replies = data ? JSON.parse(data.textContent) : [];
    }
    return replies;
  }

  // The "/word" just before the caret, at the start or after a space, or null.
  function typedShortcut(text) {
    const before = text.value.slice(0, text.selectionStart);
    const found = /(^|\s)\/([\w-]*)$/.exec(before);
    return found ? { start: before.length - found[2].length - 1, word: found[2].toLowerCase() } : null;
  }

  function openList(text, typed) {
    shown = loadReplies().filter((r) => r.shortcut.toLowerCase().startsWith(typed.word));
    const el = list();
    if (!el || !shown.length) { closeList(); if (el && typed.word) status().textContent = "No canned reply starts with /" + typed.word; return; }
    el.replaceChildren(...shown.map((reply, index) => {
      const option = document.createElement("li");
      option.id = "canned-option-" + index;
      option.setAttribute("role", "option");
      const shortcut = document.createElement("span");
      shortcut.className = "shortcut";
      shortcut.textContent = "/" + reply.shortcut;
      const preview = document.createElement("span");
      preview.className = "preview";
      preview.textContent = reply.text;
      option.append(shortcut, preview);
      option.addEventListener("mousedown", (event) => { event.preventDefault(); insert(text, index); });
      return option;
    }));
    el.hidden = false;
    select(text, 0);
    status().textContent = shown.length + (shown.length === 1 ? " canned reply" : " canned replies") + ": arrow keys choose, Enter inserts, Escape closes.";
  }

  function select(text, index) {
    active = (index + shown.length) % shown.length;
    list().querySelectorAll('[role="option"]').forEach((option, i) => {
      option.setAttribute("aria-selected", i === active ? "true" : "false");
      if (i === active) option.scrollIntoView({ block: "nearest" });
    });
    text.setAttribute("aria-activedescendant", "canned-option-" + active);
  }

  function closeList() {
    const el = list();
    if (el) { el.hidden = true; el.replaceChildren(); }
    const text = document.getElementById("reply-text");
    if (text) text.removeAttribute("aria-activedescendant");
    shown = []; active = -1;
  }

  function insert(text, index) {
    const typed = typedShortcut(text);
    const reply = shown[index];
    if (!typed || !reply) return closeList();
    const end = text.selectionStart;
    text.value = text.value.slice(0, typed.start) + reply.text + text.value.slice(end);
    const caret = typed.start + reply.text.length;
    text.setSelectionRange(caret, caret);
    closeList();
    status().textContent = "Inserted /" + reply.shortcut;
    text.focus();
  }

  document.addEventListener("input", (event) => {
    if (event.target.id !== "reply-text" || noteMode()) return;
    const typed = typedShortcut(event.target);
    if (typed) openList(event.target, typed); else closeList();
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.id !== "reply-text" || !shown.length || list().hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      select(event.target, active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation(); // Enter picks the reply; it never sends
      insert(event.target, active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeList();
    }
  }, true);
  document.addEventListener("focusout", (event) => { if (event.target.id === "reply-text") closeList(); });
})();
