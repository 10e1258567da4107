// Agent desktop, the team's tools: the composer's Reply / Private note switch, canned replies
// inserted by typing "/" and a shortcut, colleagues mentioned in a note by typing "@" (a listbox
// driven from the textarea, WAI-ARIA combobox-style keys), and the label filter that applies as
// soon as it changes.
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

  // --- Suggestions: canned replies after "/" (reply), colleagues after "@" (note) ------------
  // Each source: the character that opens it, what the list is called, and its items
  // ({label, preview, insert}) from the JSON the page carries.
  const SOURCES = {
    reply: {
      trigger: "/", name: "Canned replies", none: "No canned reply starts with /",
      items: () => readJSON("canned-replies-data").map((r) => ({ key: r.shortcut, label: "/" + r.shortcut, preview: r.text, insert: r.text })),
    },
    note: {
      trigger: "@", name: "Colleagues to mention", none: "No colleague's username starts with @",
      items: () => readJSON("mention-members-data").map((m) => ({ key: m.username, label: "@" + m.username, preview: m.name, insert: "@" + m.username + " " })),
    },
  };
  const cache = {};
  let shown = [], active = -1;
  const list = () => document.getElementById("canned-list");
  const status = () => document.getElementById("canned-status");
  const source = () => SOURCES[noteMode() ? "note" : "reply"];

  function readJSON(id) {
    if (!(id in cache)) {
      const data = document.getElementById(id);
      cache[id] = data ? JSON.parse(data.textContent) : [];
    }
    return cache[id];
  }

  // The trigger and word just before the caret, at the start or after a space, or null.
  function typedWord(text) {
    const before = text.value.slice(0, text.selectionStart);
    const trigger = source().trigger;
    const found = new RegExp("(^|\\s)\\" + trigger + "([\\w.@+-]*)$").exec(before);
    return found ? { start: before.length - found[2].length - 1, word: found[2].toLowerCase() } : null;
  }

  function openList(text, typed) {
    const from = source();
    shown = from.items().filter((item) => item.key.toLowerCase().startsWith(typed.word));
    const el = list();
    if (!el || !shown.length) { closeList(); if (el && typed.word) status().textContent = from.none + typed.word; return; }
    el.setAttribute("aria-label", from.name);
    el.replaceChildren(...shown.map((item, index) => {
      const option = document.createElement("li");
      option.id = "canned-option-" + index;
      option.setAttribute("role", "option");
      const label = document.createElement("span");
      label.className = "shortcut";
      label.textContent = item.label;
      const preview = document.createElement("span");
      preview.className = "preview";
      preview.textContent = item.preview;
      option.append(label, preview);
      option.addEventListener("mousedown", (event) => { event.preventDefault(); insert(text, index); });
      return option;
    }));
    el.hidden = false;
    select(text, 0);
    status().textContent = from.name + ": " + shown.length + ". Arrow keys choose, Enter inserts, Escape closes.";
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
    const typed = typedWord(text);
    const item = shown[index];
    if (!typed || !item) return closeList();
    const end = text.selectionStart;
    text.value = text.value.slice(0, typed.start) + item.insert + text.value.slice(end);
    const caret = typed.start + item.insert.length;
    text.setSelectionRange(caret, caret);
    closeList();
    status().textContent = "Inserted " + item.label;
    text.focus();
  }

  document.addEventListener("input", (event) => {
    if (event.target.id !== "reply-text") return;
    const typed = typedWord(event.target);
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
