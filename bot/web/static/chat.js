/* Chat page for the reflection assistant.
 *
 * Talks only to this server's POST /api/message. All text is rendered with textContent,
 * never innerHTML. No inline scripts or styles, so the page works under a strict CSP.
 */
(function () {
  "use strict";

  var SENDER_KEY = "reflectionAssistant.senderId";
  var SENDER_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
  var MAX_CHARS = 2000;
  var REQUEST_TIMEOUT_MS = 15000; // the server gives up on Rasa after 10 s
  var GREET_PAYLOAD = "/greet";

  var TEXT = {
    waiting: "The assistant is replying\u2026",
    empty: "Please type a message first.",
    tooLong: "Your message is too long. Please keep it to " + MAX_CHARS + " characters or fewer.",
    network: "This page can't reach the server. Check your connection and try again.",
    timeout: "The assistant took too long to answer. Your message was not lost; please try again.",
    server: "Something went wrong on our side. Your message was not lost; please try again.",
    keptInBox: " Your text is still in the message box.",
    greetFailed: "The assistant couldn't start because it can't be reached right now. Please try again.",
    noReply:
      "The assistant didn't send a reply. You can try again, or use \u201cGet help now\u201d at the top " +
      "if you need urgent help.",
    youLabel: "You: ",
    botLabel: "Assistant: ",
    choicesLabel: "Choose a reply",
    download: "Download this summary (.txt)"
  };

  var memorySenderId = null;
  var busy = false;
  var retryAction = null;

  var els = {};

  function randomId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID().replace(/-/g, "");
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function getSenderId() {
    try {
      var stored = window.localStorage.getItem(SENDER_KEY);
      if (stored && SENDER_PATTERN.test(stored)) {
        return stored;
      }
      var fresh = randomId();
      window.localStorage.setItem(SENDER_KEY, fresh);
      return fresh;
    } catch (err) {
      // Storage blocked (private mode, settings): keep an id for this page only.
      if (!memorySenderId) {
        memorySenderId = randomId();
      }
      return memorySenderId;
    }
  }

  /* ---------- status line ---------- */

  function setStatus(text, kind, retry) {
    els.statusText.textContent = text || "";
    els.status.classList.toggle("status-error", kind === "error");
    els.status.classList.toggle("status-note", kind === "note");
    retryAction = retry || null;
    els.statusRetry.hidden = !retryAction;
  }

  function clearStatus() {
    setStatus("", null, null);
  }

  /* ---------- message list ---------- */

  function scrollToNew(first, last) {
    if (!first) {
      return;
    }
    var height = last.getBoundingClientRect().bottom - first.getBoundingClientRect().top;
    if (height < window.innerHeight * 0.7) {
      last.scrollIntoView({ block: "end" });
    } else {
      first.scrollIntoView({ block: "start" });
    }
  }

  function appendMessage(role, text) {
    var item = document.createElement("div");
    item.className = "msg msg-" + role;
    var who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = role === "user" ? TEXT.youLabel : TEXT.botLabel;
    var body = document.createElement("p");
    body.className = "msg-text";
    body.textContent = text;
    item.appendChild(who);
    item.appendChild(body);
    els.messages.appendChild(item);
    return item;
  }

  function setGroupDisabled(group, disabled) {
    var buttons = group.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].disabled = disabled;
    }
  }

  function retireOpenChoices() {
    var groups = els.messages.querySelectorAll(".choices:not(.choices-used)");
    for (var i = 0; i < groups.length; i += 1) {
      groups[i].classList.add("choices-used");
      setGroupDisabled(groups[i], true);
    }
  }

  function appendChoices(buttons) {
    var group = document.createElement("div");
    group.className = "choices";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", TEXT.choicesLabel);
    buttons.forEach(function (spec) {
      if (!spec || typeof spec.payload !== "string" || !spec.payload) {
        return;
      }
      var title = typeof spec.title === "string" && spec.title ? spec.title : spec.payload;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "choice";
      button.textContent = title;
      button.addEventListener("click", function () {
        if (busy || group.classList.contains("choices-used")) {
          return;
        }
        group.classList.add("choices-used");
        button.classList.add("choice-chosen");
        setGroupDisabled(group, true);
        send({ message: spec.payload, display: title, kind: "choice", group: group, chosen: button });
      });
      group.appendChild(button);
    });
    if (group.childNodes.length) {
      els.messages.appendChild(group);
      return group;
    }
    return null;
  }

  /* A reflection summary arrives as a custom payload; offer it as a text file made in the browser. */
  function summaryDownload(custom) {
    if (!custom || custom.type !== "reflection_summary" || typeof custom.text !== "string") {
      return null;
    }
    var name = /^[A-Za-z0-9._-]{1,64}$/.test(custom.filename || "") ? custom.filename : "reflection-summary.txt";
    var link = document.createElement("a");
    link.className = "download";
    link.textContent = TEXT.download;
    link.download = name;
    link.href = URL.createObjectURL(new Blob([custom.text], { type: "text/plain;charset=utf-8" }));
    els.messages.appendChild(link);
    return link;
  }

  function renderReplies(replies) {
    var first = null;
    var last = null;
    replies.forEach(function (reply) {
      if (!reply || typeof reply !== "object") {
        return;
      }
      var added = [];
      if (typeof reply.text === "string" && reply.text) {
        added.push(appendMessage("bot", reply.text));
      }
      var download = summaryDownload(reply.custom);
      if (download) {
        added.push(download);
      }
      if (Array.isArray(reply.buttons) && reply.buttons.length) {
        var group = appendChoices(reply.buttons);
        if (group) {
          added.push(group);
        }
      }
      if (added.length) {
        first = first || added[0];
        last = added[added.length - 1];
      }
    });
    return { first: first, last: last };
  }

  /* ---------- talking to the server ---------- */

  function postMessage(text) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller
      ? window.setTimeout(function () {
          controller.abort();
        }, REQUEST_TIMEOUT_MS)
      : null;
    var done = function (result) {
      if (timer) {
        window.clearTimeout(timer);
      }
      return result;
    };
    return window
      .fetch("/api/message", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ sender: getSenderId(), message: text }),
        credentials: "same-origin",
        cache: "no-store",
        signal: controller ? controller.signal : undefined
      })
      .then(
        function (response) {
          return response
            .json()
            .catch(function () {
              return null;
            })
            .then(function (data) {
              if (!response.ok) {
                var error = data && typeof data.error === "string" ? data.error : TEXT.server;
                return done({ ok: false, error: error });
              }
              if (!Array.isArray(data)) {
                return done({ ok: false, error: TEXT.server });
              }
              return done({ ok: true, replies: data });
            });
        },
        function (err) {
          var aborted = err && err.name === "AbortError";
          return done({ ok: false, error: aborted ? TEXT.timeout : TEXT.network });
        }
      );
  }

  function setBusy(value) {
    busy = value;
    els.send.setAttribute("aria-disabled", value ? "true" : "false");
    els.form.setAttribute("aria-busy", value ? "true" : "false");
  }

  /* request: {message, display (shown as the user's message, or null), kind, group, chosen} */
  function send(request) {
    if (busy) {
      return;
    }
    setBusy(true);
    var bubble = request.display ? appendMessage("user", request.display) : null;
    if (bubble) {
      bubble.classList.add("msg-pending");
      bubble.scrollIntoView({ block: "nearest" });
    }
    setStatus(TEXT.waiting, null, null);

    postMessage(request.message).then(function (result) {
      setBusy(false);
      if (!result.ok) {
        if (bubble) {
          bubble.remove();
        }
        if (request.group) {
          request.group.classList.remove("choices-used");
          request.chosen.classList.remove("choice-chosen");
          setGroupDisabled(request.group, false);
        }
        if (request.kind === "typed") {
          setStatus(result.error + TEXT.keptInBox, "error", function () {
            submitTyped();
          });
          els.input.focus();
        } else if (request.kind === "greet") {
          setStatus(TEXT.greetFailed, "error", function () {
            send(request);
          });
        } else {
          setStatus(result.error, "error", function () {
            send(request);
          });
        }
        return;
      }

      if (bubble) {
        bubble.classList.remove("msg-pending");
      }
      if (request.kind === "typed" && els.input.value === request.message) {
        els.input.value = "";
      }
      retireOpenChoices();
      var added = renderReplies(result.replies);
      if (added.first) {
        clearStatus();
        scrollToNew(bubble || added.first, added.last);
      } else {
        setStatus(TEXT.noReply, "note", null);
      }
      if (request.kind !== "greet") {
        // After a choice the clicked button is disabled, so move focus somewhere useful.
        els.input.focus({ preventScroll: true });
      }
    });
  }

  function submitTyped() {
    if (busy) {
      return;
    }
    var text = els.input.value;
    if (!text.trim()) {
      setStatus(TEXT.empty, "error", null);
      els.input.focus();
      return;
    }
    if (text.length > MAX_CHARS) {
      setStatus(TEXT.tooLong, "error", null);
      els.input.focus();
      return;
    }
    send({ message: text, display: text, kind: "typed" });
  }

  /* ---------- "Get help now" panel ---------- */

  function setUpHelpPanel() {
    var details = document.getElementById("help-now");
    var close = document.getElementById("help-close");
    if (!details || !close) {
      return;
    }
    var summary = details.querySelector("summary");
    close.hidden = false;
    close.addEventListener("click", function () {
      details.open = false;
      if (summary) {
        summary.focus();
      }
    });
    details.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && details.open) {
        details.open = false;
        if (summary) {
          summary.focus();
        }
      }
    });
  }

  /* ---------- start ---------- */

  function start() {
    els.messages = document.getElementById("messages");
    els.status = document.getElementById("status");
    els.statusText = document.getElementById("status-text");
    els.statusRetry = document.getElementById("status-retry");
    els.form = document.getElementById("composer");
    els.input = document.getElementById("message-input");
    els.send = document.getElementById("send-button");

    setUpHelpPanel();

    els.form.noValidate = true; // we show our own, calmer validation message
    els.form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitTyped();
    });
    els.statusRetry.addEventListener("click", function () {
      if (retryAction) {
        retryAction();
      }
    });

    send({ message: GREET_PAYLOAD, display: null, kind: "greet" });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
