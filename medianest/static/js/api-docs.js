// The API explorer on /api/docs: Swagger UI (from the npm registry, served by MediaNest)
// reading MediaNest's OpenAPI document. "Try it out" runs as the person signed in on the
// page: the session cookie goes along, and a state-changing call carries the page's CSRF
// token, as htmx requests do. A call made with an API token ("Authorize") needs neither.
(function () {
  "use strict";
  var SAFE = { GET: true, HEAD: true, OPTIONS: true };

  function start() {
    var root = document.getElementById("api-explorer");
    if (!root || typeof window.SwaggerUIBundle !== "function") return;
    var csrf = root.dataset.csrfToken;
    window.SwaggerUIBundle({
      url: root.dataset.specUrl,
      domNode: root,
      deepLinking: true,
      tryItOutEnabled: false,
      validatorUrl: null,
      persistAuthorization: false,
      requestInterceptor: function (request) {
        var method = (request.method || "GET").toUpperCase();
        var headers = request.headers || (request.headers = {});
        if (!SAFE[method] && csrf && !headers.Authorization) headers["X-CSRFToken"] = csrf;
        request.credentials = "same-origin";
        return request;
      },
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
