// Chat client: joins over /ws, renders every event as plain text (textContent only, never parsed as HTML),
// and reconnects with capped exponential backoff when the connection drops.
"use strict";

(function () {
  const RECONNECT_MIN_MS = 1000;
  const RECONNECT_MAX_MS = 30000;

  const $ = (id) => document.getElementById(id);
  const joinForm = $("join-form");
  const joinError = $("join-error");
  const nameInput = $("name");
  const sendForm = $("send-form");
  const textInput = $("text");
  const messages = $("messages");
  const clients = $("clients");
  const status = $("status");

  let socket = null;
  let wantedName = null; // set while the user wants to be in the chat (drives reconnects)
  let joined = false;
  let retryDelayMs = RECONNECT_MIN_MS;
  let retryTimer = null;

  function setStatus(text, cls) {
    status.textContent = text;
    status.className = "status " + (cls || "");
  }

  function timeOf(ts) {
    return new Date(typeof ts === "number" ? ts : Date.now()).toLocaleTimeString();
  }

  function addLine(cls, parts) {
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    const li = document.createElement("li");
    li.className = cls;
    for (const [partCls, text] of parts) {
      const span = document.createElement("span");
      if (partCls) span.className = partCls;
      span.textContent = String(text);
      li.appendChild(span);
    }
    messages.appendChild(li);
    if (atBottom) messages.scrollTop = messages.scrollHeight;
    return li;
  }

  function system(text) {
    addLine("system", [["time", timeOf()], [null, text]]);
  }

  function showAlert(event) {
    const state = event.status === "resolved" ? "resolved" : "firing";
    const li = addLine("alert " + state, [
      ["time", timeOf(event.ts)],
      ["from", "ALERT " + state.toUpperCase()],
      [null, event.summary || ""],
    ]);
    if (typeof event.url === "string" && /^https?:\/\//i.test(event.url)) {
      const link = document.createElement("a");
      link.href = event.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = " (open)";
      li.appendChild(link);
    }
  }

  function showJoined(isJoined) {
    joined = isJoined;
    joinForm.hidden = isJoined;
    sendForm.hidden = !isJoined;
    (isJoined ? textInput : nameInput).focus();
  }

  function announce(names, what) {
    if (Array.isArray(names) && names.length > 0) system(names.join(", ") + what);
  }

  function handleEvent(event) {
    if (typeof event.clients === "number") clients.textContent = String(event.clients);
    switch (event.type) {
      case "welcome":
        wantedName = event.name;
        retryDelayMs = RECONNECT_MIN_MS;
        joinError.textContent = "";
        setStatus("online as " + event.name, "online");
        showJoined(true);
        system("You joined as " + event.name + ".");
        break;
      case "joined":
        system(event.name + " joined.");
        break;
      case "left":
        system(event.name + " left.");
        break;
      case "presence":
        // Several arrivals and departures within one presence interval (a storm), in one frame.
        announce(event.joined, " joined.");
        announce(event.left, " left.");
        if (typeof event.unlisted === "number" && event.unlisted > 0) {
          system(event.unlisted + " more joined or left.");
        }
        break;
      case "message":
        addLine("message", [["time", timeOf(event.ts)], ["from", event.from], ["text", event.text]]);
        break;
      case "alert":
        showAlert(event);
        break;
      case "error":
        if (!joined) {
          // The join itself was refused (name taken or invalid): ask again instead of retrying forever.
          wantedName = null;
          joinError.textContent = event.message;
          showJoined(false);
        } else {
          system("Error: " + event.message);
        }
        break;
      default:
        break; // newer server event types are ignored
    }
  }

  function connect() {
    retryTimer = null;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    setStatus("connecting…", "reconnecting");
    socket = new WebSocket(scheme + "//" + location.host + "/ws");
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "join", name: wantedName }));
    });
    socket.addEventListener("message", (msg) => {
      let event;
      try {
        event = JSON.parse(msg.data);
      } catch (err) {
        return; // not ours to render
      }
      handleEvent(event);
    });
    socket.addEventListener("close", () => {
      socket = null;
      const wasJoined = joined;
      joined = false;
      if (wantedName === null) {
        setStatus("offline");
        showJoined(false);
        return;
      }
      if (wasJoined) system("Connection lost; reconnecting…");
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    // Full jitter keeps a crowd of browsers from reconnecting in lockstep after a restart.
    const delay = Math.random() * retryDelayMs;
    retryDelayMs = Math.min(RECONNECT_MAX_MS, retryDelayMs * 2);
    setStatus("reconnecting in " + Math.ceil(delay / 1000) + " s", "reconnecting");
    retryTimer = setTimeout(connect, delay);
  }

  joinForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const name = nameInput.value.trim();
    if (!name) return;
    wantedName = name;
    joinError.textContent = "";
    if (retryTimer !== null) clearTimeout(retryTimer);
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "join", name: name }));
    } else if (!socket) {
      retryDelayMs = RECONNECT_MIN_MS;
      connect();
    }
  });

  sendForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = textInput.value;
    if (!text.trim() || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: "message", text: text }));
    textInput.value = "";
  });

  // Navigating away can park this page in the back/forward cache with its socket still open, leaving a
  // ghost user online; close it (a page restored from that cache reconnects through the close handler).
  window.addEventListener("pagehide", () => {
    if (socket) socket.close(1000, "page hidden");
  });

  $("leave").addEventListener("click", () => {
    wantedName = null;
    if (socket) socket.send(JSON.stringify({ type: "leave" }));
    showJoined(false);
  });
})();
