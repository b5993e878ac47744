/* Chat widget for the reflection assistant.
 *
 * Talks to Rasa's socket.io channel (events session_request/session_confirm, user_uttered with an
 * acknowledgement, bot_uttered) and keeps this tab's transcript in sessionStorage only. Everything is
 * built with createElement + textContent: no HTML strings, no inline scripts or styles, so the page
 * works under a strict CSP. All wording comes from /config.json ("texts" = the `widget:` section of
 * bot/web/messages.yml); the only hard-coded text is for when that file can't be loaded.
 */
(function () {
  "use strict";

  var PREFIX = "reflectionAssistant.";
  var SESSION_KEY = PREFIX + "sessionId";
  var STATE_KEY = PREFIX + "transcript";
  var OLD_SENDER_KEY = PREFIX + "senderId"; // the REST widget kept an id in localStorage
  var GREET_PAYLOAD = "/greet";
  var MAX_ENTRIES = 400; // keeps the stored transcript well inside the storage quota
  var MAX_SEEN = 1000;
  var AUTO_RETRY_DELAYS_MS = [3000, 10000, 30000];
  var SAFE_SCHEMES = ["https:", "http:", "tel:", "sms:"];
  var FALLBACK = {
    config_failed: "The chat can't load right now. Use Get help now above if you need urgent help.",
    offline: "Offline"
  };

  var config = null;
  var texts = {};
  var els = {};
  var socket = null;
  var sessionReady = false; // a session_confirm arrived on the current connection
  var everConnected = false;

  /* Everything that survives a reload. pending = the one message waiting for its acknowledgement:
   * {id, message, display, kind: "typed"|"choice"|"greet", entry, choice}. */
  var state = { sessionId: null, entries: [], seen: [], greeted: false, pending: null };
  var seenSet = {};
  var lastUid = 0;

  var sendState = "idle"; // for state.pending: "queued" | "sending" | "failed"
  var attempt = 0; // bumps on every emit, so late acks of an older attempt are ignored
  var turn = null; // {id, replies: {index: reply}, rendered}
  var retryTimer = null;
  var lateTimer = null;
  var autoRetries = 0;
  var retryAction = null;
  var statusTag = null;
  var typingEl = null;
  var clearing = false;
  var configLoading = false;
  var blobUrls = [];

  /* ---------- small helpers ---------- */

  function t(key, vars) {
    var text = typeof texts[key] === "string" ? texts[key] : "";
    if (vars) {
      Object.keys(vars).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(vars[name]));
      });
    }
    return text;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (var i = 0; i < bytes.length; i += 1) {
        bytes[i] = Math.floor(Math.random() * 256);
      }
    }
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join(""); // 32 chars of [0-9a-f]
  }

  function isText(value) {
    return typeof value === "string" && value.trim() !== "";
  }

  function toList(value) {
    if (Array.isArray(value)) {
      return value.filter(isText);
    }
    return isText(value) ? [value] : [];
  }

  function validSessionId(id) {
    return typeof id === "string" && id.length > 0 && id.length <= 256;
  }

  /* ---------- storage: sessionStorage, or memory when the browser refuses ---------- */

  var memoryStore = {};
  var storageOk = true;

  function storageGet(key) {
    if (storageOk) {
      try {
        return window.sessionStorage.getItem(key);
      } catch (err) {
        storageOk = false;
      }
    }
    return Object.prototype.hasOwnProperty.call(memoryStore, key) ? memoryStore[key] : null;
  }

  function storageSet(key, value) {
    if (value === null) {
      delete memoryStore[key];
    } else {
      memoryStore[key] = value; // always mirrored, so a later failure loses nothing
    }
    if (!storageOk) {
      return;
    }
    try {
      if (value === null) {
        window.sessionStorage.removeItem(key);
      } else {
        window.sessionStorage.setItem(key, value);
      }
    } catch (err) {
      // Full or blocked: stay in memory from now on, and don't leave a stale copy behind.
      storageOk = false;
      try {
        window.sessionStorage.removeItem(key);
      } catch (ignored) {
        /* nothing more to do */
      }
    }
  }

  function loadState() {
    var id = storageGet(SESSION_KEY);
    state.sessionId = validSessionId(id) ? id : null;
    var saved = null;
    try {
      saved = JSON.parse(storageGet(STATE_KEY) || "null");
    } catch (err) {
      saved = null;
    }
    if (saved && typeof saved === "object" && state.sessionId) {
      state.entries = Array.isArray(saved.entries) ? saved.entries.filter(validEntry) : [];
      state.seen = Array.isArray(saved.seen) ? saved.seen.filter(isText).slice(-MAX_SEEN) : [];
      state.greeted = saved.greeted === true;
      var p = saved.pending;
      var ok = p && isText(p.id) && typeof p.message === "string" && ["typed", "choice", "greet"].indexOf(p.kind) >= 0;
      state.pending = ok && (p.display === null || typeof p.display === "string") ? p : null;
    }
    state.seen.forEach(function (key) {
      seenSet[key] = true;
    });
    state.entries.forEach(function (entry) {
      lastUid = Math.max(lastUid, entry.uid);
    });
    try {
      window.localStorage.removeItem(OLD_SENDER_KEY); // shared computers: nothing in localStorage
    } catch (err) {
      /* storage blocked: nothing stored there either */
    }
  }

  /* A damaged or old stored transcript must not break the chat: keep only entries we can render. */
  function validEntry(e) {
    if (!e || typeof e !== "object" || typeof e.uid !== "number") {
      return false;
    }
    switch (e.type) {
      case "user":
      case "bot":
        return typeof e.text === "string";
      case "choices":
        return Array.isArray(e.buttons) && e.buttons.every(function (b) {
          return b && typeof b.title === "string" && typeof b.payload === "string";
        });
      case "summary":
        return typeof e.text === "string" && typeof e.filename === "string";
      case "cards":
        return Array.isArray(e.cards);
      case "image":
        return typeof e.url === "string" && !!safeUrl(e.url);
      default:
        return false;
    }
  }

  function saveState() {
    storageSet(SESSION_KEY, state.sessionId);
    storageSet(
      STATE_KEY,
      JSON.stringify({
        entries: state.entries,
        seen: state.seen,
        greeted: state.greeted,
        pending: state.pending
      })
    );
  }

  function markSeen(key) {
    if (!seenSet[key]) {
      seenSet[key] = true;
      state.seen.push(key);
      if (state.seen.length > MAX_SEEN) {
        delete seenSet[state.seen.shift()];
      }
    }
  }

  /* ---------- status line and connection indicator ---------- */

  /* tag says what the status is about, so that e.g. a successful reply clears a delivery problem
   * but not the "Your conversation has been deleted" announcement. */
  function setStatus(text, kind, retry, tag) {
    if (text && text === els.statusText.textContent && tag === statusTag && retry === retryAction) {
      return; // unchanged: don't make screen readers announce it again
    }
    els.statusText.textContent = text || "";
    els.status.classList.toggle("status-error", kind === "error");
    els.status.classList.toggle("status-note", kind === "note");
    retryAction = retry || null;
    els.statusRetry.hidden = !retryAction;
    statusTag = text ? tag || null : null;
  }

  function clearStatus(tags) {
    if (!tags || tags.indexOf(statusTag) >= 0) {
      setStatus("", null, null, null);
    }
  }

  function setConnection(value) {
    els.connection.setAttribute("data-state", value);
    if (t(value)) {
      els.connection.textContent = t(value);
    } else if (value === "offline") {
      els.connection.textContent = FALLBACK.offline; // no texts: /config.json didn't load
    }
  }

  /* ---------- transcript rendering ---------- */

  function appendToLog(node) {
    // The typing indicator always stays last.
    if (typingEl && typingEl.parentNode === els.messages) {
      els.messages.insertBefore(node, typingEl);
    } else {
      els.messages.appendChild(node);
    }
  }

  function showTyping(on) {
    if (on && !typingEl) {
      typingEl = el("div", "typing");
      typingEl.appendChild(el("span", "visually-hidden", t("typing")));
      var dots = el("span", "typing-dots");
      dots.setAttribute("aria-hidden", "true");
      for (var i = 0; i < 3; i += 1) {
        dots.appendChild(el("span", "typing-dot"));
      }
      typingEl.appendChild(dots);
      els.messages.appendChild(typingEl);
    } else if (!on && typingEl) {
      typingEl.remove();
      typingEl = null;
    }
  }

  function safeUrl(raw) {
    var url;
    try {
      url = new URL(raw); // no base: relative and scheme-less strings throw and stay plain text
    } catch (err) {
      return null;
    }
    if (SAFE_SCHEMES.indexOf(url.protocol) < 0) {
      return null;
    }
    if ((url.protocol === "https:" || url.protocol === "http:") && !url.hostname) {
      return null;
    }
    return url;
  }

  function makeLink(raw, label) {
    var url = safeUrl(raw);
    if (!url) {
      return null;
    }
    var link = el("a", "msg-link", label);
    link.href = url.href;
    link.rel = "noopener noreferrer";
    if (url.protocol === "https:" || url.protocol === "http:") {
      link.target = "_blank";
      link.setAttribute("aria-describedby", "new-tab-note");
    }
    return link;
  }

  // **bold** | [label](url) | bare https://, http://, tel:, sms: URL
  var INLINE = /\*\*([^*\n]+?)\*\*|\[([^\[\]\n]+)\]\(([^()\s]+)\)|((?:https?:\/\/|tel:|sms:)[^\s<>"]+)/gi;

  function appendInline(parent, text, allowBold) {
    var re = new RegExp(INLINE.source, "gi");
    var last = 0;
    var match;
    while ((match = re.exec(text)) !== null) {
      if (match.index > last) {
        parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      }
      if (match[1] !== undefined) {
        if (allowBold) {
          var strong = el("strong");
          appendInline(strong, match[1], false);
          parent.appendChild(strong);
        } else {
          parent.appendChild(document.createTextNode(match[0]));
        }
      } else if (match[2] !== undefined) {
        parent.appendChild(makeLink(match[3], match[2]) || document.createTextNode(match[0]));
      } else if (/[A-Za-z0-9]/.test(text.charAt(match.index - 1))) {
        parent.appendChild(document.createTextNode(match[0])); // "hotel:" is not a tel: link
      } else {
        // Leave trailing punctuation (and an unmatched ")") out of a bare URL.
        var url = match[4];
        var tail = "";
        while (/[.,;:!?'\])]$/.test(url)) {
          if (url.slice(-1) === ")" && url.split("(").length > url.split(")").length - 1) {
            break;
          }
          tail = url.slice(-1) + tail;
          url = url.slice(0, -1);
        }
        parent.appendChild(makeLink(url, url) || document.createTextNode(url));
        if (tail) {
          parent.appendChild(document.createTextNode(tail));
        }
      }
      last = match.index + match[0].length;
    }
    if (last < text.length) {
      parent.appendChild(document.createTextNode(text.slice(last)));
    }
  }

  /* Newlines become <br>; the bot's text also gets the safe markdown subset, the user's never. */
  function renderText(container, text, rich) {
    text.split(/\r\n|\r|\n/).forEach(function (line, i) {
      if (i > 0) {
        container.appendChild(el("br"));
      }
      if (rich) {
        appendInline(container, line, true);
      } else if (line) {
        container.appendChild(document.createTextNode(line));
      }
    });
  }

  function renderBubble(entry) {
    var role = entry.type === "user" ? "user" : "bot";
    var item = el("div", "msg msg-" + role);
    item.appendChild(el("span", "visually-hidden", (role === "user" ? t("you_label") : t("bot_label")) + " "));
    var body = el("p", "msg-text");
    renderText(body, entry.text, role === "bot");
    item.appendChild(body);
    if (role === "user") {
      var note = el("span", "msg-status");
      note.hidden = true;
      item.appendChild(note);
    }
    return item;
  }

  function updateUserBubble(entry) {
    var node = findNode(entry.uid);
    if (!node) {
      return;
    }
    var note = node.querySelector(".msg-status");
    var failed = entry.state === "failed" || entry.state === "unsent";
    node.classList.toggle("msg-pending", entry.state === "pending");
    node.classList.toggle("msg-undelivered", failed);
    note.textContent = entry.state === "unsent" ? t("not_sent") : entry.state === "failed" ? t("not_delivered") : "";
    note.hidden = !failed;
  }

  function renderChoices(entry) {
    var group = el("div", "choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", t("choices_label"));
    entry.buttons.forEach(function (spec, i) {
      var button = el("button", "choice", spec.title);
      button.type = "button";
      button.addEventListener("click", function () {
        onChoice(entry, i);
      });
      group.appendChild(button);
    });
    return group;
  }

  function updateChoices(entry) {
    var node = findNode(entry.uid);
    if (!node) {
      return;
    }
    var buttons = node.querySelectorAll("button.choice");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].disabled = entry.used === true;
      buttons[i].classList.toggle("choice-chosen", entry.chosen === i);
    }
    node.classList.toggle("choices-used", entry.used === true);
  }

  /* A reflection summary is offered as a text file made in the browser. */
  function renderSummary(entry) {
    var url = URL.createObjectURL(new Blob([entry.text], { type: "text/plain;charset=utf-8" }));
    blobUrls.push(url);
    var link = el("a", "download", t("download"));
    link.download = entry.filename;
    link.href = url;
    return link;
  }

  function cardField(list, label, value) {
    if (!value) {
      return;
    }
    list.appendChild(el("dt", "card-label", label));
    var dd = el("dd", "card-value");
    if (Array.isArray(value)) {
      var ul = el("ul", "card-list");
      value.forEach(function (item) {
        ul.appendChild(el("li", null, item));
      });
      dd.appendChild(ul);
    } else {
      dd.textContent = value;
    }
    list.appendChild(dd);
  }

  function renderCard(card) {
    var article = el("article", "therapist-card");
    var title = [card.name, card.credentials].filter(isText).join(", ");
    if (isText(card.pronouns)) {
      title += (title ? " " : "") + "(" + card.pronouns + ")";
    }
    article.appendChild(el("h3", "card-title", title));
    if (card.sample === true) {
      article.appendChild(el("p", "card-sample", t("card_sample")));
    }
    var fields = el("dl", "card-fields");
    var where = toList(card.where);
    cardField(fields, t("card_where"), where.length > 1 ? where : where[0]);
    cardField(fields, t("card_needs"), toList(card.needs_matched).join(", "));
    cardField(fields, t("card_specialties"), toList(card.specialties).join(", "));
    cardField(fields, t("card_methods"), toList(card.methods).join(", "));
    cardField(fields, t("card_insurance"), isText(card.insurance) ? card.insurance : "");
    cardField(fields, t("card_fee"), isText(card.fee) ? card.fee : "");
    if (fields.childNodes.length) {
      article.appendChild(fields);
    }
    if (typeof card.free_consultation === "boolean") {
      article.appendChild(
        el("p", "card-flag", t(card.free_consultation ? "card_consultation_yes" : "card_consultation_no"))
      );
    }
    if (typeof card.accepting_new_clients === "boolean") {
      article.appendChild(
        el("p", "card-flag", t(card.accepting_new_clients ? "card_accepting_yes" : "card_accepting_no"))
      );
    }
    return article;
  }

  function renderEntry(entry) {
    var node = null;
    if (entry.type === "user" || entry.type === "bot") {
      node = renderBubble(entry);
    } else if (entry.type === "choices") {
      node = renderChoices(entry);
    } else if (entry.type === "summary") {
      node = renderSummary(entry);
    } else if (entry.type === "cards") {
      node = el("div", "therapist-cards");
      entry.cards.forEach(function (card) {
        node.appendChild(renderCard(card));
      });
    } else if (entry.type === "image") {
      node = el("div", "msg-media");
      var img = el("img", "msg-image");
      img.alt = "";
      img.src = entry.url;
      node.appendChild(img);
    }
    if (!node) {
      return null;
    }
    node.setAttribute("data-entry", String(entry.uid));
    appendToLog(node);
    if (entry.type === "user") {
      updateUserBubble(entry);
    } else if (entry.type === "choices") {
      updateChoices(entry);
    }
    return node;
  }

  function findNode(uid) {
    return els.messages.querySelector('[data-entry="' + uid + '"]');
  }

  function findEntry(uid) {
    for (var i = 0; i < state.entries.length; i += 1) {
      if (state.entries[i].uid === uid) {
        return state.entries[i];
      }
    }
    return null;
  }

  function addEntry(entry) {
    if (entry.type === "choices") {
      retireChoices(); // only the newest button group stays usable
    }
    lastUid += 1;
    entry.uid = lastUid;
    state.entries.push(entry);
    while (state.entries.length > MAX_ENTRIES) {
      var old = findNode(state.entries.shift().uid);
      if (old) {
        old.remove();
      }
    }
    return renderEntry(entry);
  }

  function removeEntry(uid) {
    state.entries = state.entries.filter(function (entry) {
      return entry.uid !== uid;
    });
    var node = findNode(uid);
    if (node) {
      node.remove();
    }
  }

  function retireChoices() {
    state.entries.forEach(function (entry) {
      if (entry.type === "choices" && !entry.used) {
        entry.used = true;
        updateChoices(entry);
      }
    });
  }

  /* Turn one bot_uttered into transcript entries. cardTexts: card texts of this turn, whose plain-text
   * copies (sent for other channels) are skipped in favour of the structured cards. */
  function renderReply(reply, cardTexts) {
    var nodes = [];
    var push = function (entry) {
      var node = addEntry(entry);
      if (node) {
        nodes.push(node);
      }
    };
    if (isText(reply.text) && !cardTexts[reply.text.trim()]) {
      push({ type: "bot", text: reply.text });
    }
    var image = typeof reply.image === "string" ? safeUrl(reply.image) : null;
    if (image && (image.protocol === "https:" || image.protocol === "http:")) {
      push({ type: "image", url: image.href });
    }
    var custom = reply.custom;
    if (custom && custom.type === "reflection_summary" && typeof custom.text === "string") {
      var name = /^[A-Za-z0-9._-]{1,64}$/.test(custom.filename || "") ? custom.filename : "reflection-summary.txt";
      push({ type: "summary", filename: name, text: custom.text });
    } else if (custom && custom.type === "therapist_cards" && Array.isArray(custom.cards)) {
      var cards = custom.cards.filter(function (card) {
        return card && typeof card === "object";
      });
      if (cards.length) {
        push({ type: "cards", cards: cards });
      }
    }
    if (Array.isArray(reply.buttons)) {
      var buttons = [];
      reply.buttons.forEach(function (b) {
        if (b && isText(b.payload)) {
          buttons.push({ title: isText(b.title) ? b.title : b.payload, payload: b.payload });
        }
      });
      if (buttons.length) {
        push({ type: "choices", buttons: buttons, used: false, chosen: null });
      }
    }
    return nodes;
  }

  function scrollToNew(first, last) {
    if (!first || !last) {
      return;
    }
    var height = last.getBoundingClientRect().bottom - first.getBoundingClientRect().top;
    if (height < window.innerHeight * 0.7) {
      last.scrollIntoView({ block: "end" });
    } else {
      first.scrollIntoView({ block: "start" });
    }
  }

  function restoreTranscript() {
    var groups = state.entries.filter(function (entry) {
      return entry.type === "choices";
    });
    // Only the last button group can still be used after a reload.
    groups.slice(0, -1).forEach(function (entry) {
      entry.used = true;
    });
    var lastNode = null;
    state.entries.forEach(function (entry) {
      if (entry.type === "user" && entry.state === "pending" && !(state.pending && state.pending.entry === entry.uid)) {
        entry.state = "unsent";
      }
      lastNode = renderEntry(entry) || lastNode;
    });
    if (lastNode) {
      lastNode.scrollIntoView({ block: "nearest" });
    }
  }

  function wipeTranscript() {
    state.entries = [];
    state.seen = [];
    seenSet = {};
    state.greeted = false;
    state.pending = null;
    sendState = "idle";
    attempt += 1;
    turn = null;
    clearRetryTimer();
    showTyping(false);
    while (els.messages.firstChild) {
      els.messages.removeChild(els.messages.firstChild);
    }
    blobUrls.forEach(function (url) {
      URL.revokeObjectURL(url);
    });
    blobUrls = [];
  }

  /* ---------- sending and receiving ---------- */

  function clearRetryTimer() {
    if (retryTimer) {
      window.clearTimeout(retryTimer);
      retryTimer = null;
    }
  }

  function canSend() {
    return !!(socket && socket.connected && sessionReady);
  }

  function startMessage(message, display, kind, choiceUid) {
    var id = randomId();
    var entryUid = null;
    if (display !== null) {
      var entry = { type: "user", text: display, id: id, state: "pending" };
      addEntry(entry).scrollIntoView({ block: "nearest" });
      entryUid = entry.uid;
    }
    state.pending = { id: id, message: message, display: display, kind: kind, entry: entryUid, choice: choiceUid || null };
    if (kind === "greet") {
      state.greeted = true;
    }
    sendState = "queued";
    autoRetries = 0;
    saveState();
    deliver();
  }

  /* Send (or resend, always with the same message_id) the pending message if we can. */
  function deliver() {
    var p = state.pending;
    clearRetryTimer();
    if (!p || sendState === "sending") {
      return;
    }
    if (!canSend()) {
      // It goes out on the next session_confirm. Before the first connection that's normal,
      // after a failure it's a delivery problem the user should know about.
      if (everConnected || sendState === "failed") {
        deliveryProblem(t("retrying"), false);
      } else {
        showTyping(true);
      }
      return;
    }
    sendState = "sending";
    attempt += 1;
    var token = attempt;
    if (!turn || turn.id !== p.id) {
      turn = { id: p.id, replies: {}, rendered: 0 };
    }
    setEntryState(p, "pending");
    showTyping(true);
    socket
      .timeout(config.reply_timeout_ms)
      .emit("user_uttered", { message: p.message, session_id: state.sessionId, message_id: p.id }, function (err, ack) {
        if (token !== attempt || state.pending !== p) {
          return; // an older attempt, or the message was dropped meanwhile
        }
        if (err) {
          onNoAck();
        } else if (ack && ack.ok === true) {
          finishTurn();
        } else {
          sendState = "failed";
          flushTurn();
          var text = ack && isText(ack.error) ? ack.error.trim().slice(0, 500) : t("reply_error");
          deliveryProblem(text, true);
        }
      });
  }

  /* Timeout or disconnect while waiting for the acknowledgement. */
  function onNoAck() {
    if (turn && Object.keys(turn.replies).length) {
      // Replies arrived, so the message got through and only the acknowledgement was lost.
      finishTurn();
      return;
    }
    sendState = "failed";
    if (canSend() && autoRetries < AUTO_RETRY_DELAYS_MS.length) {
      retryTimer = window.setTimeout(deliver, AUTO_RETRY_DELAYS_MS[autoRetries]);
      autoRetries += 1;
      deliveryProblem(t("retrying"), false);
    } else if (canSend()) {
      deliveryProblem(t("reply_error"), true);
    } else {
      deliveryProblem(t("retrying"), false); // resent when the socket reconnects
    }
  }

  /* Mark the pending message as not delivered, hand typed text back, explain, offer Try again. */
  function deliveryProblem(text, isError) {
    var p = state.pending;
    if (!p) {
      return;
    }
    sendState = "failed";
    showTyping(false);
    setEntryState(p, "failed");
    saveState();
    var kept = false;
    if (p.kind === "typed") {
      if (!els.input.value) {
        els.input.value = p.display;
      }
      kept = els.input.value === p.display;
    }
    setStatus(text + (kept ? " " + t("keep_text") : ""), isError ? "error" : "note", retryPending, "delivery");
  }

  function setEntryState(p, value) {
    var entry = p.entry ? findEntry(p.entry) : null;
    if (entry && entry.state !== value) {
      entry.state = value;
      updateUserBubble(entry);
    }
  }

  function retryPending() {
    if (!state.pending || sendState === "sending") {
      return; // never two copies in flight
    }
    autoRetries = 0;
    if (socket && !socket.connected && !socket.active) {
      socket.connect();
    }
    if (!socket) {
      connectSocket();
    }
    if (canSend()) {
      sendState = "queued";
      clearStatus(["delivery"]);
    }
    deliver();
  }

  function finishTurn() {
    var p = state.pending;
    window.clearTimeout(lateTimer);
    state.pending = null;
    sendState = "idle";
    attempt += 1;
    clearRetryTimer();
    showTyping(false);
    setEntryState(p, "sent");
    if (p.kind === "typed" && els.input.value === p.display) {
      els.input.value = "";
    }
    flushTurn();
    var count = turn ? turn.rendered : 0;
    turn = null;
    saveState();
    clearStatus(["delivery", "waiting", "offline", "turn", "input"]);
    if (!count) {
      setStatus(t("no_reply"), "note", null, "turn");
    }
  }

  /* Render this turn's buffered replies in order; returns how many produced something. */
  function flushTurn() {
    if (!turn) {
      return 0;
    }
    var replies = Object.keys(turn.replies)
      .map(Number)
      .sort(function (a, b) {
        return a - b;
      })
      .map(function (index) {
        markSeen(turn.id + ":" + index);
        return turn.replies[index];
      });
    turn.replies = {};
    var cardTexts = {};
    replies.forEach(function (reply) {
      if (reply.custom && reply.custom.type === "therapist_cards" && Array.isArray(reply.custom.cards)) {
        reply.custom.cards.forEach(function (card) {
          if (card && isText(card.text)) {
            cardTexts[card.text.trim()] = true;
          }
        });
      }
    });
    var first = null;
    var last = null;
    var count = 0;
    replies.forEach(function (reply) {
      var nodes = renderReply(reply, cardTexts);
      if (nodes.length) {
        count += 1;
        first = first || nodes[0];
        last = nodes[nodes.length - 1];
      }
    });
    turn.rendered += count;
    saveState();
    scrollToNew(first, last);
    return count;
  }

  function onBotUttered(data) {
    if (!data || typeof data !== "object" || !sessionReady) {
      return;
    }
    var hasKey = typeof data.message_id === "string" && typeof data.index === "number";
    var key = hasKey ? data.message_id + ":" + data.index : null;
    if (key && seenSet[key]) {
      return; // re-delivered after a retry
    }
    if (key && state.pending && turn && data.message_id === state.pending.id) {
      // Held until the acknowledgement, so card texts can be replaced by the cards that follow.
      turn.replies[data.index] = data;
      if (sendState !== "sending") {
        // Replies after we stopped waiting: the message did get through, so show them shortly.
        var pending = state.pending;
        window.clearTimeout(lateTimer);
        lateTimer = window.setTimeout(function () {
          if (state.pending === pending && sendState !== "sending") {
            finishTurn();
          }
        }, 500);
      }
      return;
    }
    if (key) {
      markSeen(key);
    }
    var nodes = renderReply(data, {});
    saveState();
    scrollToNew(nodes[0], nodes[nodes.length - 1]);
  }

  /* Drop the pending message in favour of a new one; typed text stays visible as "not sent". */
  function dropPending() {
    var p = state.pending;
    state.pending = null;
    sendState = "idle";
    attempt += 1;
    turn = null;
    clearRetryTimer();
    showTyping(false);
    if (p && p.entry) {
      var entry = findEntry(p.entry);
      if (entry) {
        entry.state = "unsent";
        updateUserBubble(entry);
      }
    }
    if (p && p.choice) {
      var group = findEntry(p.choice);
      if (group) {
        group.used = false;
        group.chosen = null;
        updateChoices(group);
      }
    }
  }

  /* Returns true when a new message may start now (possibly replacing a failed one). */
  function readyForNewMessage() {
    if (!state.pending) {
      return true;
    }
    if (sendState === "failed") {
      dropPending();
      return true;
    }
    setStatus(t("waiting"), "note", null, "waiting");
    return false;
  }

  function onSubmit(event) {
    event.preventDefault();
    if (!config) {
      if (!configLoading) {
        setStatus(FALLBACK.config_failed, "error", loadConfig, "config");
      }
      return; // the text stays in the box
    }
    var text = els.input.value;
    if (!text.trim()) {
      setStatus(t("empty"), "error", null, "input");
      els.input.focus();
      return;
    }
    if (text.length > config.max_chars) {
      setStatus(t("too_long", { limit: config.max_chars }), "error", null, "input");
      els.input.focus();
      return;
    }
    var p = state.pending;
    if (p && p.kind === "typed" && text === p.display && sendState !== "sending") {
      // The same text again: it is the same message, so resend it with its original id.
      els.input.value = "";
      retryPending();
      els.input.focus();
      return;
    }
    if (!readyForNewMessage()) {
      els.input.focus();
      return;
    }
    clearStatus(["delivery", "waiting", "turn", "input", "cleared", "session", "clear"]);
    els.input.value = "";
    els.input.focus();
    startMessage(text, text, "typed", null);
  }

  function onChoice(entry, index) {
    if (entry.used || !config) {
      return;
    }
    if (!readyForNewMessage()) {
      return;
    }
    var spec = entry.buttons[index];
    entry.used = true;
    entry.chosen = index;
    updateChoices(entry);
    clearStatus(["delivery", "waiting", "turn", "input", "cleared", "session", "clear"]);
    els.input.focus(); // the clicked button is now disabled
    startMessage(spec.payload, spec.title, "choice", entry.uid);
  }

  /* ---------- socket.io connection and session ---------- */

  function onConnect() {
    everConnected = true;
    sessionReady = false;
    setConnection("connecting");
    socket.emit("session_request", { session_id: state.sessionId });
  }

  function onSessionConfirm(arg) {
    var id = typeof arg === "string" ? arg : arg && typeof arg === "object" ? arg.session_id : null;
    if (!validSessionId(id)) {
      return;
    }
    if (state.sessionId !== null && id !== state.sessionId) {
      // Unknown or expired session: the server started a new one, so the old history goes.
      var hadHistory = state.entries.length > 0;
      var p = state.pending;
      if (p && p.kind === "typed" && !els.input.value) {
        els.input.value = p.display;
      }
      wipeTranscript();
      if (hadHistory) {
        setStatus(t("session_restarted"), "note", null, "session");
      }
    }
    state.sessionId = id;
    sessionReady = true;
    setConnection("online");
    clearStatus(["offline"]);
    saveState();
    if (state.pending) {
      deliver(); // a resend keeps the message_id, so the server can de-duplicate it
    } else if (!state.entries.length && !state.greeted) {
      startMessage(GREET_PAYLOAD, null, "greet", null); // no user bubble for the greeting
    }
  }

  function onDisconnect(reason) {
    sessionReady = false;
    setConnection("offline");
    // Buffered packets would go out again on reconnect; we resend ourselves after session_confirm.
    socket.sendBuffer = [];
    if (state.pending && sendState === "sending") {
      attempt += 1;
      sendState = "failed";
      onNoAck();
    } else if (!state.pending) {
      setStatus(t("connection_lost"), "note", null, "offline");
    }
    if (reason === "io server disconnect") {
      // The server closed the connection; socket.io won't reconnect by itself in that case.
      window.setTimeout(function () {
        if (!socket.connected) {
          socket.connect();
        }
      }, 2000);
    }
  }

  function onConnectError() {
    setConnection("offline");
    if (!socket.active) {
      // Refused by the server (not a network error): try again a little later.
      window.setTimeout(function () {
        if (!socket.connected) {
          socket.connect();
        }
      }, 5000);
    }
    if (state.pending && sendState !== "failed") {
      sendState = "failed";
      deliveryProblem(t("retrying"), false);
    } else if (!state.pending && statusTag !== "cleared" && statusTag !== "clear") {
      setStatus(t("connection_lost"), "note", null, "offline");
    }
  }

  function connectSocket() {
    if (typeof window.io !== "function") {
      setConnection("offline");
      setStatus(t("config_failed"), "error", loadSocketLibrary, "config");
      return;
    }
    setConnection("connecting");
    socket = window.io(config.socket_url, {
      path: config.socket_path,
      transports: ["websocket", "polling"],
      reconnection: true
    });
    socket.on("connect", onConnect);
    socket.on("session_confirm", onSessionConfirm);
    socket.on("bot_uttered", onBotUttered);
    socket.on("disconnect", onDisconnect);
    socket.on("connect_error", onConnectError);
  }

  /* The vendor script failed to load (e.g. a flaky network): fetch it again, then connect. */
  function loadSocketLibrary() {
    var script = document.createElement("script");
    script.src = "/vendor/socket.io.min.js";
    script.addEventListener("load", function () {
      clearStatus(["config"]);
      connectSocket();
    });
    script.addEventListener("error", function () {
      setStatus(t("config_failed"), "error", loadSocketLibrary, "config");
    });
    document.head.appendChild(script);
  }

  /* ---------- "Clear my conversation" ---------- */

  function openClear() {
    els.clearPanel.hidden = false;
    els.clearButton.setAttribute("aria-expanded", "true");
    els.clearCancel.focus(); // the safe choice first; the question is the group's label
  }

  function closeClear(returnFocus) {
    els.clearPanel.hidden = true;
    els.clearButton.setAttribute("aria-expanded", "false");
    if (returnFocus) {
      els.clearButton.focus();
    }
  }

  function confirmClear() {
    if (clearing) {
      return;
    }
    clearing = true;
    els.clearConfirm.setAttribute("aria-disabled", "true");
    setStatus(t("clearing"), null, null, "clear");
    var done = function () {
      clearing = false;
      els.clearConfirm.removeAttribute("aria-disabled");
    };
    var failed = function (message) {
      done();
      closeClear(true);
      setStatus(isText(message) ? message.trim().slice(0, 500) : t("clear_failed"), "error", null, "clear");
    };
    var cleared = function () {
      done();
      wipeTranscript();
      state.sessionId = null;
      sessionReady = false;
      els.input.value = "";
      saveState();
      storageSet(SESSION_KEY, null);
      storageSet(STATE_KEY, null);
      closeClear(false);
      els.input.focus();
      setStatus(t("cleared"), "note", null, "cleared");
      if (socket && socket.connected) {
        setConnection("connecting");
        socket.emit("session_request", { session_id: null }); // its confirm starts the greeting
      }
    };
    if (!state.sessionId) {
      cleared(); // nothing on the server yet
      return;
    }
    window
      .fetch("/api/conversation/clear", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ session_id: state.sessionId }),
        credentials: "same-origin",
        cache: "no-store"
      })
      .then(function (response) {
        if (response.ok) {
          cleared();
          return null;
        }
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (data) {
            failed(data && data.error);
          });
      })
      .catch(function () {
        failed(null);
      });
  }

  /* ---------- "Get help now" panel (works without any of the above) ---------- */

  function setUpHelpPanel() {
    var details = document.getElementById("help-now");
    var close = document.getElementById("help-close");
    if (!details || !close) {
      return;
    }
    var summary = details.querySelector("summary");
    var shut = function () {
      details.open = false;
      if (summary) {
        summary.focus();
      }
    };
    close.hidden = false;
    close.addEventListener("click", shut);
    details.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && details.open) {
        shut();
      }
    });
  }

  /* ---------- start ---------- */

  function applyTexts() {
    var set = function (node, key) {
      if (node && t(key)) {
        node.textContent = t(key);
      }
    };
    set(els.clearButton, "clear_button");
    set(els.clearQuestion, "clear_question");
    set(els.clearConfirm, "clear_confirm");
    set(els.clearCancel, "clear_cancel");
    set(els.statusRetry, "try_again");
    set(els.inputLabel, "input_label");
    set(els.send, "send");
    set(els.newTabNote, "new_tab");
    if (t("placeholder")) {
      els.input.placeholder = t("placeholder");
    }
  }

  function fetchJson(url) {
    return window.fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      });
  }

  function loadConfig() {
    if (configLoading || config) {
      return;
    }
    configLoading = true;
    setConnection("connecting");
    clearStatus(["config"]);
    fetchJson("/config.json")
      .then(function (data) {
        if (!data || typeof data !== "object" || !data.texts || typeof data.texts !== "object" || !isText(data.socket_url)) {
          throw new Error("bad config");
        }
        return data;
      })
      .then(
        function (data) {
          configLoading = false;
          texts = data.texts;
          config = {
            socket_url: data.socket_url,
            socket_path: isText(data.socket_path) ? data.socket_path : "/socket.io",
            max_chars: data.max_chars > 0 ? Math.floor(data.max_chars) : 2000,
            reply_timeout_ms: data.reply_timeout_ms > 0 ? data.reply_timeout_ms : 20000
          };
          applyTexts();
          els.clearButton.hidden = false;
          try {
            restoreTranscript();
          } catch (err) {
            wipeTranscript(); // unreadable history: start clean rather than not at all
            state.sessionId = null;
            saveState();
          }
          if (state.pending) {
            sendState = "queued";
            showTyping(true);
          }
          connectSocket();
        },
        function () {
          configLoading = false;
          els.connection.setAttribute("data-state", "offline");
          els.connection.textContent = FALLBACK.offline;
          setStatus(FALLBACK.config_failed, "error", loadConfig, "config");
        }
      );
  }

  function start() {
    setUpHelpPanel(); // first, so it works whatever happens next

    els.messages = document.getElementById("messages");
    els.status = document.getElementById("status");
    els.statusText = document.getElementById("status-text");
    els.statusRetry = document.getElementById("status-retry");
    els.connection = document.getElementById("connection");
    els.form = document.getElementById("composer");
    els.input = document.getElementById("message-input");
    els.inputLabel = document.querySelector('label[for="message-input"]');
    els.send = document.getElementById("send-button");
    els.clearButton = document.getElementById("clear-conversation");
    els.clearPanel = document.getElementById("clear-panel");
    els.clearQuestion = document.getElementById("clear-question");
    els.clearConfirm = document.getElementById("clear-confirm");
    els.clearCancel = document.getElementById("clear-cancel");
    els.newTabNote = document.getElementById("new-tab-note");

    els.connection.hidden = false;
    els.form.hidden = false;
    els.form.noValidate = true; // our own, calmer validation messages
    els.form.addEventListener("submit", onSubmit);
    els.statusRetry.addEventListener("click", function () {
      if (retryAction) {
        retryAction();
      }
      if (els.statusRetry.hidden && !els.form.hidden) {
        els.input.focus(); // the button just went away; don't leave focus nowhere
      }
    });
    els.clearButton.addEventListener("click", function () {
      if (els.clearPanel.hidden) {
        openClear();
      } else {
        closeClear(true);
      }
    });
    els.clearCancel.addEventListener("click", function () {
      closeClear(true);
    });
    els.clearConfirm.addEventListener("click", confirmClear);
    els.clearPanel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        closeClear(true);
      }
    });

    loadState();
    loadConfig();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
