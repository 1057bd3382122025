// The one bridge between the server and htmx: every Socket.IO event becomes an
// htmx trigger on <body>, so cards listen with hx-trigger="<event> from:body".
// "notification" events show a toast; "session.ended" returns to sign-in; an
// htmx request the server refuses (429, 403, 5xx...) shows the server's message
// as a toast instead of failing silently; a form busy with a request says so;
// a save's HX-Trigger "medianest.toast" shows a toast.
(function () {
  "use strict";

  function toast(payload) {
    var area = document.getElementById("toasts");
    if (!area || !payload || !payload.message) {
      return;
    }
    var item = document.createElement("div");
    item.className = "toast toast-" + (payload.level || "info");
    item.setAttribute("role", payload.level === "error" ? "alert" : "status");
    var text = document.createElement("span");
    text.textContent = payload.message;
    item.appendChild(text);
    if (payload.link && payload.link.charAt(0) === "/") {
      var link = document.createElement("a");
      link.href = payload.link;
      link.textContent = "Open";
      item.appendChild(link);
    }
    area.appendChild(item);
    setTimeout(function () { item.remove(); }, 8000);
  }
  window.medianestToast = toast;

  function messageOf(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    try {
      if (type.indexOf("application/json") === 0) {
        return JSON.parse(xhr.responseText).error.message;
      }
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var node = doc.querySelector("[data-code]") || doc.body;
      return (node.textContent || "").trim().slice(0, 300);
    } catch (e) {
      return "";
    }
  }

  // A form marked data-swap-errors answers a refusal (400, 409, 429...) with itself again: the
  // message beside what was typed. htmx swaps only 2xx by default; let these through.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (status >= 400 && status < 500 && elt && elt.closest && elt.closest("[data-swap-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // Every htmx form shows it is working: its buttons are disabled and marked aria-busy while
  // its request runs, so a slow answer is never silent and never sent twice. A form or button
  // naming its own hx-disabled-elt is left to htmx.
  var busyButtons = new WeakMap();
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var form = elt.tagName === "FORM" ? elt : elt.form;
    if (!form || elt.hasAttribute("hx-disabled-elt") || form.hasAttribute("hx-disabled-elt")) {
      return;
    }
    var buttons = Array.prototype.slice.call(form.querySelectorAll("button:not([disabled])"));
    buttons.forEach(function (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    });
    busyButtons.set(elt, buttons);
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    (busyButtons.get(event.detail.elt) || []).forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    });
    busyButtons.delete(event.detail.elt);
  });
  // A save answers with an HX-Trigger header {"medianest.toast": {level, message}}.
  document.body.addEventListener("medianest.toast", function (event) {
    toast(event.detail && event.detail.value !== undefined ? event.detail.value : event.detail);
  });

  document.body.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var elt = event.detail.elt;
    if (elt && elt.closest && elt.closest("[data-quiet-errors]")) {
      return;  // an optional part of a page (another plugin's, perhaps switched off): left out
    }
    toast({ level: "error", message: messageOf(xhr) || ("The server answered " + xhr.status + ".") });
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast({ level: "error", message: "MediaNest could not be reached. Check the connection and try again." });
  });

  if (typeof io === "undefined" || document.body.dataset.signedIn !== "1") {
    return;
  }
  var socket = io({ transports: ["websocket", "polling"], withCredentials: true });
  window.medianestSocket = socket;

  socket.onAny(function (event, payload) {
    if (event === "notification") {
      toast(payload);
    }
    if (event === "session.ended") {
      window.location.href = document.body.dataset.loginUrl;
      return;
    }
    // Under "payload": htmx logs a console error for any trigger whose detail has an
    // "error" key, and a service's status carries the error a check saw.
    htmx.trigger(document.body, event, { payload: payload || {} });
  });
  // After a reconnect, events sent while the socket was down are lost: cards
  // listening for "socket.reconnected" fetch their current state once. Events
  // between drawing the page and the first connect are lost too: a part showing
  // something still moving (a running download) also listens for "socket.connected".
  var connectedBefore = false;
  socket.on("connect", function () {
    document.body.dataset.live = "1";
    htmx.trigger(document.body, "socket.connected", {});
    if (connectedBefore) {
      htmx.trigger(document.body, "socket.reconnected", {});
    }
    connectedBefore = true;
  });
  socket.on("disconnect", function () { document.body.dataset.live = "0"; });
})();
