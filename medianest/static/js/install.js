// Installable on a phone: register the service worker that serves the offline page.
(function () {
  "use strict";
  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(document.body.dataset.serviceWorker || "/sw.js", { scope: "/" }).catch(function () {
        // Without a worker the site works as before; only the offline page is missing.
      });
    });
  }
})();
