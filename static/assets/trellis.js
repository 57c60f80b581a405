// trellis.js — the small client-side companion of the Trellis framework.
// It runs under a strict Content-Security-Policy (no inline code, no eval)
// and only uses htmx events:
//   * error responses are swapped only when the server retargeted them into
//     the error region (or for boosted navigation); anything else shows a
//     generic message there instead of replacing part of the page;
//   * network failures and timeouts show a message in the error region;
//   * the error region is cleared when the user starts another request
//     (background polling leaves it alone);
//   * elements with data-dismiss="<selector>" empty that element on click,
//     and data-dismiss-self removes the element's parent (a flash message);
//   * unsafe requests carry the CSRF token from <meta name="csrf-token">.
(function () {
  "use strict";

  function errorRegion() {
    return document.getElementById("trellis-error");
  }

  function showError(message) {
    var region = errorRegion();
    if (!region) {
      return;
    }
    var box = document.createElement("div");
    box.className = "error-alert";
    box.textContent = message + " ";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "dismiss";
    button.setAttribute("data-dismiss", "#trellis-error");
    button.setAttribute("aria-label", "Dismiss");
    button.textContent = "\u00d7";
    box.appendChild(button);
    region.replaceChildren(box);
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var config = evt.detail.requestConfig;
    var cause = config && config.triggeringEvent;
    var region = errorRegion();
    if (region && cause && cause.isTrusted) {
      region.replaceChildren();
    }
  });

  document.addEventListener("htmx:configRequest", function (evt) {
    var verb = (evt.detail.verb || "get").toUpperCase();
    if (verb === "GET" || verb === "HEAD") {
      return;
    }
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      evt.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (!xhr || xhr.status < 400 || xhr.status === 422) {
      return;
    }
    if (xhr.getResponseHeader("HX-Retarget") || evt.detail.boosted) {
      return;
    }
    evt.detail.shouldSwap = false;
    showError("The request failed (" + xhr.status + "). Please try again.");
  });

  document.addEventListener("htmx:sendError", function () {
    showError("Could not reach the server. Check your connection and try again.");
  });

  document.addEventListener("htmx:timeout", function () {
    showError("The server took too long to answer. Please try again.");
  });

  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) {
      return;
    }
    var self = evt.target.closest("[data-dismiss-self]");
    if (self && self.parentElement) {
      self.parentElement.remove();
      return;
    }
    var trigger = evt.target.closest("[data-dismiss]");
    if (!trigger) {
      return;
    }
    var target = document.querySelector(trigger.getAttribute("data-dismiss"));
    if (target) {
      target.replaceChildren();
    }
  });
})();
