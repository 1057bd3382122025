// The one bridge between Socket.IO and htmx: every server event becomes an
// htmx trigger on <body>, so cards listen with hx-trigger="<event> from:body".
// "notification" events also show a toast; "session.ended" returns to sign-in.
(function () {
  "use strict";
  if (typeof io === "undefined" || document.body.dataset.signedIn !== "1") {
    return;
  }
  var socket = io({ transports: ["websocket", "polling"], withCredentials: true });
  window.medianestSocket = socket;

  function toast(payload) {
    var area = document.getElementById("toasts");
    if (!area || !payload || !payload.message) {
      return;
    }
    var item = document.createElement("div");
    item.className = "toast toast-" + (payload.level || "info");
    item.setAttribute("role", "status");
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

  socket.onAny(function (event, payload) {
    if (event === "notification") {
      toast(payload);
    }
    if (event === "session.ended") {
      window.location.href = document.body.dataset.loginUrl;
      return;
    }
    htmx.trigger(document.body, event, payload || {});
  });
  socket.on("connect", function () { document.body.dataset.live = "1"; });
  socket.on("disconnect", function () { document.body.dataset.live = "0"; });
})();
