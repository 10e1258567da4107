/* Campaign Builder website chat: the widget a website embeds with one line,
 *   <script src="https://APP/static/webchat/widget.js" data-widget-key="KEY" async></script>
 * No build step, no dependency. It talks only to the app that served it (the origin of its own
 * src), lives in a shadow root, and is styled by constructed stylesheets: nothing inline, so it
 * runs under the host page's strict Content-Security-Policy (no eval, no inline script or style).
 * The shadow root is open: a closed one protects nothing from the host page's own scripts (they
 * run first and can patch attachShadow), and an open one lets tests and assistive tooling reach in.
 */
(function () {
  "use strict";

  var OPEN_POLL_MS = 1500;
  var CLOSED_POLL_MS = 10000;
  var MAX_BACKOFF_MS = 60000;
  var TYPING_EVERY_MS = 3000;
  var REPLY_ENDS_TYPING_MS = 6000;
  var HEX_COLOR = /^#[0-9a-fA-F]{6}$/;
  var SMALL_SCREEN = "(max-width: 480px)";

  var script = ownScript();
  if (!script || !supported()) return;
  script.setAttribute("data-widget-started", "");
  var widgetKey = script.getAttribute("data-widget-key");
  var appOrigin;
  try {
    appOrigin = new URL(script.src, location.href).origin;
  } catch (e) {
    return;
  }
  var apiBase = appOrigin + "/webchat/" + encodeURIComponent(widgetKey) + "/";
  var storageKey = "campaign-builder-webchat:" + widgetKey;

  // document.currentScript is set for a classic async script, but not when a tag manager or
  // a loader runs it later: then the first embed line not yet started is ours.
  function ownScript() {
    var current = document.currentScript;
    if (current && current.hasAttribute("data-widget-key")) return current;
    var candidates = document.querySelectorAll("script[data-widget-key]:not([data-widget-started])");
    return candidates.length ? candidates[0] : null;
  }

  function supported() {
    return (
      typeof fetch === "function" &&
      "attachShadow" in Element.prototype &&
      "adoptedStyleSheets" in Document.prototype &&
      typeof CSSStyleSheet === "function" &&
      "replaceSync" in CSSStyleSheet.prototype
    );
  }

  // ---- Stored visitor: the token and what the visitor has already seen, per widget key. ----
  // localStorage can be blocked (privacy settings): then the visitor lasts one page load.
  var memoryStore = {};
  function loadStored() {
    try {
      return JSON.parse(localStorage.getItem(storageKey)) || {};
    } catch (e) {
      return memoryStore;
    }
  }
  function saveStored(changes) {
    var stored = loadStored();
    Object.keys(changes).forEach(function (k) {
      if (changes[k] === null) delete stored[k];
      else stored[k] = changes[k];
    });
    memoryStore = stored;
    try {
      localStorage.setItem(storageKey, JSON.stringify(stored));
    } catch (e) {
      /* kept in memory only */
    }
  }

  // ---- The visitor API. Never rejects: a network failure is status 0. ----
  function api(path, options) {
    options = options || {};
    var headers = {};
    var body;
    if (options.token) headers.Authorization = "Bearer " + options.token;
    if (options.form) {
      body = options.form;
    } else if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    return fetch(apiBase + path, {
      method: options.method || "GET",
      headers: headers,
      body: body,
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
    }).then(
      function (response) {
        var retryAfter = Number(response.headers.get("Retry-After")) || 0;
        if (response.status === 204) return result(response.status, null, retryAfter);
        return response.json().then(
          function (data) {
            return result(response.status, data, retryAfter);
          },
          function () {
            return result(response.status, null, retryAfter);
          },
        );
      },
      function () {
        return result(0, null, 0);
      },
    );
  }
  function result(status, data, retryAfter) {
    return { status: status, data: data, retryAfter: retryAfter };
  }

  function visitorContext() {
    var timezone = "";
    try {
      timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      /* an old browser: no time zone */
    }
    return {
      page_url: location.href.slice(0, 2000),
      referrer: document.referrer.slice(0, 2000),
      language: (navigator.language || "").slice(0, 35),
      timezone: timezone.slice(0, 64),
    };
  }

  // ---- DOM helpers: text always through textContent, never markup. ----
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === false || value === null || value === undefined) return;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }
  function icon(pathData) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    svg.appendChild(path);
    return svg;
  }
  var CHAT_ICON =
    "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  var CLOSE_ICON = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z";
  var ATTACH_ICON =
    "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z";

  // Only links to the web (the app's media), never javascript: or data: from a response.
  function safeUrl(url) {
    try {
      var parsed = new URL(url, appOrigin);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }
  function timeOf(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  function fileSize(bytes) {
    if (bytes < 1048576) return Math.ceil(bytes / 1024) + " KB";
    return Math.round((bytes / 1048576) * 10) / 10 + " MB";
  }

  var CSS = [
    ":host{all:initial}",
    "[hidden]{display:none!important}",
    ".root{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1c2333}",
    "*{box-sizing:border-box}",
    "button,input,textarea{font:inherit;color:inherit}",
    ":focus-visible{outline:3px solid #1a56db;outline-offset:2px}",
    ".sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;",
    "border:0;cursor:pointer;background:var(--accent);color:var(--on-accent);box-shadow:0 4px 14px rgba(0,0,0,.25);",
    "display:grid;place-items:center;padding:0}",
    ".launcher svg{width:28px;height:28px;fill:currentColor}",
    ".launcher:focus-visible{outline-offset:3px}",
    ".dot{position:absolute;top:4px;right:4px;width:14px;height:14px;border-radius:50%;background:#d92d20;border:2px solid #fff}",
    ".panel{position:fixed;right:20px;bottom:92px;z-index:2147483000;width:370px;height:min(600px,calc(100vh - 112px));",
    "display:flex;flex-direction:column;background:#fff;border-radius:14px;overflow:hidden;",
    "box-shadow:0 12px 40px rgba(16,24,40,.28);border:1px solid #d0d7e2}",
    ".head{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--accent);color:var(--on-accent)}",
    ".head h2{flex:1;margin:0;font-size:17px;font-weight:700}",
    ".icon-btn{border:0;background:transparent;color:inherit;cursor:pointer;width:40px;height:40px;border-radius:8px;display:grid;place-items:center;padding:0}",
    ".icon-btn svg{width:22px;height:22px;fill:currentColor}",
    ".icon-btn:hover{background:rgba(127,127,127,.18)}",
    ".greeting{margin:0;padding:10px 16px;background:#f4f6fa;border-bottom:1px solid #e3e8ef;color:#3b4658}",
    ".intro{padding:16px;display:flex;flex-direction:column;gap:10px;overflow:auto}",
    ".intro p{margin:0;color:#3b4658}",
    "label{display:flex;flex-direction:column;gap:4px;font-weight:600;font-size:14px}",
    "input{padding:9px 10px;border:1px solid #8592a6;border-radius:8px;font-weight:400}",
    ".row{display:flex;gap:8px;justify-content:flex-end;flex-wrap:wrap}",
    ".btn{border:1px solid #8592a6;background:#fff;border-radius:8px;padding:8px 14px;cursor:pointer;font-weight:600}",
    ".btn:hover{background:#f0f3f8}",
    ".btn-main{background:var(--accent);color:var(--on-accent);border-color:var(--accent)}",
    ".btn-main:hover{background:var(--accent);filter:brightness(.92)}",
    ".log{flex:1;overflow-y:auto;padding:12px 12px 4px;display:flex;flex-direction:column;gap:8px}",
    ".empty{margin:auto;color:#5d6b82;text-align:center;font-size:14px}",
    ".msg{max-width:82%;display:flex;flex-direction:column;gap:2px}",
    ".msg.mine{align-self:flex-end;align-items:flex-end}",
    ".msg.theirs{align-self:flex-start}",
    ".bubble{padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere;margin:0}",
    ".mine .bubble{background:var(--accent);color:var(--on-accent);border-bottom-right-radius:4px}",
    ".theirs .bubble{background:#eef1f6;color:#1c2333;border-bottom-left-radius:4px}",
    ".author{font-size:12px;color:#5d6b82;font-weight:600}",
    ".msg img{display:block;max-width:220px;max-height:220px;border-radius:10px;border:1px solid #d0d7e2}",
    ".file{color:#1a56db;overflow-wrap:anywhere}",
    ".meta{font-size:12px;color:#5d6b82;display:flex;gap:6px;align-items:center;flex-wrap:wrap}",
    ".mine .meta{justify-content:flex-end;text-align:right}",
    ".failed .meta{color:#b42318}",
    ".link-btn{border:0;background:none;padding:0 2px;color:#1a56db;text-decoration:underline;cursor:pointer;font-size:12px}",
    ".typing{margin:0;padding:0 16px 4px;font-size:13px;color:#5d6b82;min-height:1.45em}",
    ".notice.good{background:#e7f5ef;color:#0b6b47}",
    ".survey{margin:0 12px 6px;padding:8px 10px;border:1px solid #d5dbe5;border-radius:8px;font-size:14px}",
    ".survey legend{padding:0 4px}",
    ".survey .row{display:flex;gap:6px;margin-top:4px}",
    ".notice{margin:0 12px 6px;padding:6px 10px;border-radius:8px;background:#fdecea;color:#8a1c12;font-size:13px}",
    ".composer{display:flex;align-items:flex-end;gap:6px;padding:8px;border-top:1px solid #e3e8ef}",
    ".composer textarea{flex:1;resize:none;min-height:42px;max-height:120px;padding:10px;border:1px solid #8592a6;border-radius:10px}",
    ".composer .icon-btn{color:#3b4658;flex:none}",
    ".composer .btn-main{flex:none;height:42px}",
    "@media " + SMALL_SCREEN + "{.panel{inset:0;width:auto;height:auto;border-radius:0;border:0}",
    ".launcher.open{display:none}}",
    "@media (prefers-reduced-motion:no-preference){.launcher{transition:transform .15s}.launcher:hover{transform:scale(1.05)}}",
    "@media print{.root{display:none}}",
  ].join("\n");

  // ---- The widget: built once the page has a body. ----
  function boot() {
    api("config/").then(function (answer) {
      // A refused origin (403), an unknown key or a closed chat: no launcher at all, and
      // nothing thrown in the host page.
      if (answer.status !== 200 || !answer.data || !answer.data.available) return;
      start(answer.data);
    });
  }

  function start(config) {
    var stored = loadStored();
    var state = {
      token: stored.token || null,
      seenAgentId: stored.seen || 0,
      introDone: !!stored.intro,
      lastId: 0,
      readUpTo: 0,
      readPosted: 0,
      open: false,
      polling: false,
      timer: null,
      failures: 0,
      retryAt: 0,
      lastTypingSent: 0,
      agentRepliedAt: 0,
      session: null, // the POST session/ in flight, shared
      contextSent: false,
      nextLocal: 1,
      sending: Promise.resolve(), // the chain of messages being sent, in order
    };
    var messages = {}; // id (server) or "local-N" -> message record {data, node, ...}
    var maxTextLength = Number(config.max_text_length) || 2000;
    var maxUploadBytes = Number(config.max_upload_bytes) || 0;
    var title = String(config.title || "Chat");

    var host = document.createElement("campaign-builder-chat");
    var shadow = host.attachShadow({ mode: "open" });
    var base = new CSSStyleSheet();
    base.replaceSync(CSS);
    var theme = new CSSStyleSheet();
    var accent = HEX_COLOR.test(config.color) ? config.color : "#2454d6";
    var onAccent = HEX_COLOR.test(config.text_color) ? config.text_color : "#ffffff";
    theme.replaceSync(":host{--accent:" + accent + ";--on-accent:" + onAccent + "}");
    shadow.adoptedStyleSheets = [base, theme];

    // Launcher
    var dot = el("span", { class: "dot", hidden: true });
    var launcher = el(
      "button",
      { type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": "panel" },
      [icon(CHAT_ICON), dot],
    );
    // Panel
    var heading = el("h2", { id: "panel-title", text: title });
    var closeButton = el("button", { type: "button", class: "icon-btn", "aria-label": "Close chat" }, [
      icon(CLOSE_ICON),
    ]);
    var greeting = el("p", { class: "greeting", text: config.greeting || "", hidden: !config.greeting });

    var nameInput = el("input", { name: "name", autocomplete: "name", maxlength: "100" });
    var emailInput = el("input", { name: "email", type: "email", autocomplete: "email", maxlength: "254" });
    var intro = el("form", { class: "intro", "aria-label": "About you", hidden: true }, [
      el("p", { text: "Tell us who you are, so we can get back to you (optional)." }),
      el("label", {}, [document.createTextNode("Name"), nameInput]),
      el("label", {}, [document.createTextNode("E-mail"), emailInput]),
      el("div", { class: "row" }, [
        el("button", { type: "button", class: "btn", "data-action": "skip", text: "Skip" }),
        el("button", { type: "submit", class: "btn btn-main", text: "Start chat" }),
      ]),
    ]);

    var empty = el("p", { class: "empty", text: "Write us a message, we usually answer within minutes." });
    var log = el(
      "div",
      {
        class: "log",
        role: "log",
        "aria-live": "polite",
        "aria-relevant": "additions",
        "aria-label": "Messages",
        tabindex: "0",
      },
      [empty],
    );
    var typing = el("p", { class: "typing", "aria-live": "polite" });
    var notice = el("p", { class: "notice", role: "alert", hidden: true });
    var textarea = el("textarea", {
      rows: "1",
      "aria-label": "Your message",
      placeholder: "Write a message…",
      maxlength: String(maxTextLength),
    });
    var fileInput = el("input", { type: "file", accept: "image/*", class: "sr-only", tabindex: "-1", "aria-hidden": "true" });
    var attachButton = el("button", { type: "button", class: "icon-btn", "aria-label": "Attach an image" }, [
      icon(ATTACH_ICON),
    ]);
    var sendButton = el("button", { type: "submit", class: "btn btn-main", text: "Send" });
    var composer = el("form", { class: "composer" }, [attachButton, fileInput, textarea, sendButton]);
    // The satisfaction survey, shown after the conversation closes (GET messages/ → survey).
    var surveyQuestion = el("legend", {});
    var surveyButtons = el("div", { class: "row" });
    var survey = el("fieldset", { class: "survey", hidden: true }, [surveyQuestion, surveyButtons]);
    var panel = el(
      "div",
      { class: "panel", id: "panel", role: "dialog", "aria-labelledby": "panel-title", hidden: true },
      [el("div", { class: "head" }, [heading, closeButton]), greeting, intro, log, typing, survey, notice, composer],
    );
    shadow.appendChild(el("div", { class: "root" }, [launcher, panel]));
    document.body.appendChild(host);
    updateLauncherLabel();

    // ---- Opening and closing ----
    launcher.addEventListener("click", function () {
      if (state.open) closePanel();
      else openPanel();
    });
    closeButton.addEventListener("click", closePanel);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        closePanel();
      } else if (event.key === "Tab" && matchMedia(SMALL_SCREEN).matches) {
        keepFocusInside(event);
      }
    });

    function openPanel() {
      state.open = true;
      panel.hidden = false;
      launcher.classList.add("open");
      launcher.setAttribute("aria-expanded", "true");
      var asking = !state.token && !state.introDone;
      intro.hidden = !asking;
      log.hidden = composer.hidden = asking;
      typing.hidden = asking;
      (asking ? nameInput : textarea).focus();
      scrollToEnd(true);
      markSeen();
      pollSoon();
    }

    function closePanel() {
      if (!state.open) return;
      state.open = false;
      panel.hidden = true;
      launcher.classList.remove("open");
      launcher.setAttribute("aria-expanded", "false");
      launcher.focus();
      schedule(CLOSED_POLL_MS);
    }

    function keepFocusInside(event) {
      var focusable = Array.prototype.filter.call(
        panel.querySelectorAll("button, input:not([tabindex='-1']), textarea, [tabindex='0']"),
        function (node) {
          return !node.closest("[hidden]") && !node.disabled;
        },
      );
      if (!focusable.length) return;
      var first = focusable[0];
      var last = focusable[focusable.length - 1];
      var active = shadow.activeElement;
      if (event.shiftKey && active === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && active === last) {
        event.preventDefault();
        first.focus();
      }
    }

    // ---- The optional "about you" step ----
    intro.addEventListener("submit", function (event) {
      event.preventDefault();
      var profile = { name: nameInput.value.trim(), email: emailInput.value.trim() };
      finishIntro();
      if (profile.name || profile.email) ensureSession(profile);
    });
    intro.querySelector("[data-action=skip]").addEventListener("click", finishIntro);

    function finishIntro() {
      state.introDone = true;
      saveStored({ intro: true });
      intro.hidden = true;
      log.hidden = composer.hidden = typing.hidden = false;
      textarea.focus();
    }

    // ---- Session: created on the visitor's first word, refreshed once per page load ----
    function ensureSession(profile) {
      if (state.token) return Promise.resolve(state.token);
      if (!state.session) {
        var body = visitorContext();
        if (profile && profile.name) body.name = profile.name;
        if (profile && profile.email) body.email = profile.email;
        state.session = api("session/", { method: "POST", json: body }).then(function (answer) {
          state.session = null;
          if ((answer.status === 201 || answer.status === 200) && answer.data && answer.data.visitor_token) {
            state.token = answer.data.visitor_token;
            state.contextSent = true;
            saveStored({ token: state.token });
            schedule(0);
            return state.token;
          }
          return null;
        });
      }
      return state.session;
    }

    // The page the visitor is on now (Customer Info shows it); a token no longer valid is dropped.
    function refreshSession() {
      state.contextSent = true;
      return api("session/", { method: "POST", json: visitorContext(), token: state.token }).then(
        function (answer) {
          if (answer.status === 401) forgetVisitor();
        },
      );
    }

    function forgetVisitor() {
      state.token = null;
      state.lastId = state.readUpTo = state.readPosted = state.seenAgentId = 0;
      saveStored({ token: null, seen: null });
      Object.keys(messages).forEach(function (id) {
        if (!messages[id].local) {
          messages[id].node.remove();
          delete messages[id];
        }
      });
      showEmptyHint();
      dot.hidden = true;
      updateLauncherLabel();
    }

    // ---- Polling ----
    function schedule(ms) {
      clearTimeout(state.timer);
      state.timer = setTimeout(poll, Math.max(ms, state.retryAt - Date.now(), 0));
    }
    function pollSoon() {
      if (!state.polling) schedule(0);
    }
    function interval() {
      var visible = document.visibilityState !== "hidden";
      var base = state.open && visible ? OPEN_POLL_MS : CLOSED_POLL_MS;
      return state.failures ? Math.min(base * Math.pow(2, state.failures), MAX_BACKOFF_MS) : base;
    }

    function poll() {
      if (!state.token || state.polling) return;
      state.polling = true;
      var before = state.contextSent ? Promise.resolve() : refreshSession();
      before
        .then(function () {
          if (!state.token) return null;
          return api("messages/?after=" + state.lastId, { token: state.token });
        })
        .then(function (answer) {
          state.polling = false;
          if (!answer || !state.token) return;
          if (answer.status === 401) return forgetVisitor();
          if (answer.status === 429) state.retryAt = Date.now() + (answer.retryAfter || 10) * 1000;
          if (answer.status === 200 && answer.data) {
            state.failures = 0;
            apply(answer.data);
          } else {
            state.failures += 1;
          }
          schedule(interval());
        });
    }

    function apply(data) {
      (data.messages || []).forEach(function (message) {
        if (typeof message.id !== "number") return;
        state.lastId = Math.max(state.lastId, message.id);
        if (messages[message.id]) return;
        addServerMessage(message);
        if (message.direction !== "in") state.agentRepliedAt = Date.now();
      });
      var readUpTo = Number(data.read_up_to) || 0;
      if (readUpTo !== state.readUpTo) {
        state.readUpTo = readUpTo;
        Object.keys(messages).forEach(function (id) {
          if (messages[id].mine && !messages[id].local) renderState(messages[id]);
        });
      }
      // A reply ends the agent's typing (the API keeps saying "typing" for a few seconds).
      var justReplied = Date.now() - state.agentRepliedAt < REPLY_ENDS_TYPING_MS;
      typing.textContent = data.agent_typing && !justReplied ? title + " is typing…" : "";
      renderSurvey(data.survey);
      markSeen();
    }

    // ---- The satisfaction survey ----
    function renderSurvey(asked) {
      var cycle = asked && typeof asked.cycle === "number" ? asked.cycle : null;
      if (cycle === state.surveyCycle) return;
      state.surveyCycle = cycle;
      survey.hidden = cycle === null || cycle === state.answeredCycle;
      if (survey.hidden) return;
      surveyQuestion.textContent = String(asked.question || "");
      surveyButtons.textContent = "";
      [1, 2, 3, 4, 5].forEach(function (rating) {
        var button = el("button", { type: "button", class: "btn", text: String(rating), "aria-label": rating + " out of 5" });
        button.addEventListener("click", function () {
          answerSurvey(cycle, rating);
        });
        surveyButtons.appendChild(button);
      });
    }

    function answerSurvey(cycle, rating) {
      state.answeredCycle = cycle;
      survey.hidden = true;
      api("survey/", { method: "POST", json: { cycle: cycle, rating: rating }, token: state.token }).then(function (answer) {
        var saved = answer.status === 204;
        showNotice(saved ? "Thank you for your rating!" : "Your rating could not be saved.", saved);
      });
    }

    // ---- Read state and the unread dot ----
    function newestAgentId() {
      var newest = 0;
      Object.keys(messages).forEach(function (id) {
        if (!messages[id].mine && !messages[id].local) newest = Math.max(newest, Number(id));
      });
      return newest;
    }

    function markSeen() {
      var newest = newestAgentId();
      var looking = state.open && document.visibilityState !== "hidden";
      if (looking && newest > state.seenAgentId) {
        state.seenAgentId = newest;
        saveStored({ seen: newest });
      }
      dot.hidden = newest <= state.seenAgentId;
      updateLauncherLabel();
      if (looking && newest > state.readPosted && state.token) {
        var upTo = newest;
        state.readPosted = upTo;
        api("read/", { method: "POST", json: { up_to: upTo }, token: state.token }).then(function (answer) {
          if (answer.status !== 204 && answer.status !== 200) state.readPosted = Math.min(state.readPosted, upTo - 1);
        });
      }
    }

    function updateLauncherLabel() {
      launcher.setAttribute("aria-label", "Chat: " + title + (dot.hidden ? "" : " (new messages)"));
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        markSeen();
        pollSoon();
      }
    });

    // ---- Messages in the list ----
    function showEmptyHint() {
      empty.hidden = Object.keys(messages).length > 0;
    }

    function addServerMessage(data) {
      var record = { data: data, mine: data.direction === "in", local: false };
      buildNode(record);
      messages[data.id] = record;
      placeInOrder(record);
      showEmptyHint();
      scrollToEnd(false);
    }

    // Server messages in id order; messages still being sent stay last.
    function placeInOrder(record) {
      var children = log.querySelectorAll(".msg");
      for (var i = 0; i < children.length; i++) {
        var other = children[i];
        if (other.hasAttribute("data-local") || Number(other.getAttribute("data-id")) > record.data.id) {
          log.insertBefore(record.node, other);
          return;
        }
      }
      log.appendChild(record.node);
    }

    function buildNode(record) {
      var data = record.data;
      var node = el("div", {
        class: "msg " + (record.mine ? "mine" : "theirs"),
        "data-id": record.local ? null : String(data.id),
        "data-local": record.local,
      });
      record.node = node;
      var who = record.mine ? "You" : String(data.author || title);
      node.appendChild(el("span", { class: record.mine ? "sr-only" : "author", text: who + ":" }));
      if (data.text) node.appendChild(el("p", { class: "bubble", text: data.text }));
      (data.attachments || []).forEach(function (attachment) {
        var url = safeUrl(attachment.url);
        var name = String(attachment.name || (attachment.type === "image" ? "Image" : "File"));
        if (!url) return;
        if (attachment.type === "image") {
          node.appendChild(
            el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, [
              el("img", { src: url, alt: name, loading: "lazy" }),
            ]),
          );
        } else {
          node.appendChild(
            el("a", { class: "file", href: url, target: "_blank", rel: "noopener noreferrer", text: "File: " + name }),
          );
        }
      });
      if (record.file) node.appendChild(el("p", { class: "bubble", text: "Picture: " + record.file.name }));
      record.meta = el("div", { class: "meta" }, [el("span", { text: timeOf(data.created_at) })]);
      if (record.mine) {
        record.stateLabel = el("span", { class: "state", "data-testid": "message-state" });
        record.meta.appendChild(record.stateLabel);
      }
      node.appendChild(record.meta);
      renderState(record);
      return node;
    }

    function renderState(record) {
      if (!record.mine) return;
      var label;
      if (record.local) label = record.error ? "Not sent: " + record.error : "Sending…";
      else label = state.readUpTo && record.data.id <= state.readUpTo ? "Read" : "Sent";
      record.stateLabel.textContent = label;
      record.node.classList.toggle("failed", !!(record.local && record.error));
      var old = record.meta.querySelector(".link-btn");
      if (old) old.remove();
      if (record.local && record.error) {
        var action = record.retryable ? "Retry" : "Remove";
        var button = el("button", { type: "button", class: "link-btn", text: action });
        button.addEventListener("click", function () {
          if (record.retryable) deliver(record);
          else discard(record);
        });
        record.meta.appendChild(button);
      }
    }

    function scrollToEnd(force) {
      var nearEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
      if (force || nearEnd) log.scrollTop = log.scrollHeight;
    }

    // ---- Sending ----
    composer.addEventListener("submit", function (event) {
      event.preventDefault();
      sendText();
    });
    textarea.addEventListener("keydown", function (event) {
      // Enter sends, Shift+Enter is a new line; never while an input method is composing.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendText();
      }
    });
    textarea.addEventListener("input", function () {
      var now = Date.now();
      if (state.token && textarea.value && now - state.lastTypingSent > TYPING_EVERY_MS) {
        state.lastTypingSent = now;
        api("typing/", { method: "POST", token: state.token });
      }
    });
    attachButton.addEventListener("click", function () {
      fileInput.click();
    });
    fileInput.addEventListener("change", function () {
      var file = fileInput.files && fileInput.files[0];
      fileInput.value = "";
      if (!file) return;
      if (!/^image\//.test(file.type)) return showNotice("Only images can be sent here.");
      if (maxUploadBytes && file.size > maxUploadBytes) {
        return showNotice(
          "This image is " + fileSize(file.size) + ": the limit is " + fileSize(maxUploadBytes) + ".",
        );
      }
      var text = textarea.value.trim();
      textarea.value = "";
      queue({ text: text, file: file });
    });

    function sendText() {
      var text = textarea.value.trim();
      if (!text) return;
      if (text.length > maxTextLength) {
        return showNotice("Your message is too long: at most " + maxTextLength + " characters.");
      }
      textarea.value = "";
      queue({ text: text });
    }

    function showNotice(text, good) {
      notice.textContent = text;
      notice.classList.toggle("good", !!good);
      notice.hidden = false;
      clearTimeout(showNotice.timer);
      showNotice.timer = setTimeout(function () {
        notice.hidden = true;
      }, 8000);
    }

    function queue(content) {
      var id = "local-" + state.nextLocal++;
      var record = {
        mine: true,
        local: true,
        file: content.file || null,
        data: { text: content.text, attachments: [], created_at: new Date().toISOString() },
      };
      buildNode(record);
      messages[id] = record;
      record.key = id;
      log.appendChild(record.node);
      showEmptyHint();
      scrollToEnd(true);
      deliver(record);
    }

    // One message at a time, in the order written: the conversation keeps the visitor's order.
    function deliver(record) {
      record.error = null;
      renderState(record);
      state.sending = state.sending
        .then(function () {
          return send(record);
        })
        .catch(function () {
          fail(record, result(0, null, 0)); // never leave the queue stuck behind one message
        });
    }

    function post(record, token) {
      var options = { method: "POST", token: token };
      if (record.file) {
        var form = new FormData();
        form.append("file", record.file, record.file.name);
        if (record.data.text) form.append("text", record.data.text);
        options.form = form;
      } else {
        options.json = { text: record.data.text };
      }
      return api("messages/", options);
    }

    function send(record) {
      var tokenUsed;
      return ensureSession()
        .then(function (token) {
          tokenUsed = token;
          return token ? post(record, token) : result(0, null, 0);
        })
        .then(function (answer) {
          if (answer.status !== 401) return answer;
          // The visitor's token is no longer valid: start a new conversation and send again.
          if (state.token === tokenUsed) forgetVisitor();
          return ensureSession().then(function (token) {
            return token ? post(record, token) : result(0, null, 0);
          });
        })
        .then(function (answer) {
          if (answer.status === 201 && answer.data && typeof answer.data.id === "number") {
            confirm(record, answer.data);
          } else {
            fail(record, answer);
          }
        });
    }

    function confirm(record, data) {
      delete messages[record.key];
      record.node.remove();
      if (!messages[data.id]) addServerMessage(data);
      pollSoon();
    }

    function fail(record, answer) {
      var detail = firstText(answer.data);
      record.retryable = answer.status === 0 || answer.status === 429 || answer.status >= 500;
      if (answer.status === 413) record.error = "too large.";
      else if (answer.status === 429)
        record.error = "too many messages, wait " + (answer.retryAfter || 10) + " s.";
      else if (answer.status === 0) record.error = "no connection.";
      else if (answer.status >= 500) record.error = "the chat had a problem.";
      else record.error = detail || "refused.";
      renderState(record);
    }

    // DRF answers {"detail": "..."} or {"field": ["..."]}: the first sentence it holds.
    function firstText(data) {
      if (typeof data === "string") return data;
      if (Array.isArray(data)) return data.length ? firstText(data[0]) : "";
      if (data && typeof data === "object") {
        if (data.detail) return firstText(data.detail);
        var keys = Object.keys(data);
        return keys.length ? firstText(data[keys[0]]) : "";
      }
      return "";
    }

    function discard(record) {
      delete messages[record.key];
      record.node.remove();
      showEmptyHint();
      textarea.focus();
    }

    if (state.token) schedule(0);
  }

  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot);
})();
