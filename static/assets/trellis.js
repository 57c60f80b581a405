// trellis.js — the small client-side companion of the Trellis framework.
// It runs under a strict Content-Security-Policy (no inline code, no eval)
// and only uses htmx events. It works with htmx 2 and htmx 4 (config
// htmx.version): it reads htmx.version once at start-up and listens to that
// version's events, whose names and details differ. Under both versions:
//   * error responses are swapped only when the server retargeted them into
//     the error region (or for boosted navigation); anything else shows a
//     generic message there instead of replacing part of the page;
//   * network failures and timeouts show a message in the error region;
//   * the error region is cleared when the user starts another request
//     (background polling leaves it alone);
//   * elements with data-dismiss="<selector>" empty that element on click,
//     and data-dismiss-self removes the element's parent (a flash message);
//   * unsafe requests carry the CSRF token from <meta name="csrf-token">;
//   * upload forms (data-upload) show their progress bar while sending.
// Under htmx 4 it also keeps two htmx 2 behaviours Trellis relies on:
//   * hx-disabled-elt disables the elements it names while the request
//     runs (htmx 4 calls this hx-disable, which means "no htmx" in htmx 2);
//   * <script> elements in swapped content are dropped unless the config
//     key htmx.allow_script_tags is true (htmx 4 always runs them).
(function () {
  "use strict";

  var htmx4 = !!window.htmx && /^4\./.test(String(window.htmx.version));

  var messages = {
    network: "Could not reach the server. Check your connection and try again.",
    timeout: "The server took too long to answer. Please try again."
  };

  function failed(status) {
    return "The request failed (" + status + "). Please try again.";
  }

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

  // clearOnUserRequest empties the error region when a request starts
  // from something the user did (a trusted event), not from polling.
  function clearOnUserRequest(cause) {
    var region = errorRegion();
    if (region && cause && cause.isTrusted) {
      region.replaceChildren();
    }
  }

  function unsafe(verb) {
    verb = String(verb || "get").toUpperCase();
    return verb !== "GET" && verb !== "HEAD";
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta && meta.content ? meta.content : "";
  }

  // swapRefused reports whether an error response must not be swapped:
  // 4xx/5xx other than 422, not retargeted by the server, not boosted.
  function swapRefused(status, retargeted, boosted) {
    return status >= 400 && status !== 422 && !retargeted && !boosted;
  }

  function listenHTMX2() {
    document.addEventListener("htmx:beforeRequest", function (evt) {
      var config = evt.detail.requestConfig;
      clearOnUserRequest(config && config.triggeringEvent);
    });

    document.addEventListener("htmx:configRequest", function (evt) {
      var token = csrfToken();
      if (unsafe(evt.detail.verb) && token) {
        evt.detail.headers["X-CSRF-Token"] = token;
      }
    });

    document.addEventListener("htmx:beforeSwap", function (evt) {
      var xhr = evt.detail.xhr;
      if (xhr && swapRefused(xhr.status, !!xhr.getResponseHeader("HX-Retarget"), evt.detail.boosted)) {
        evt.detail.shouldSwap = false;
        showError(failed(xhr.status));
      }
    });

    document.addEventListener("htmx:sendError", function () {
      showError(messages.network);
    });

    document.addEventListener("htmx:timeout", function () {
      showError(messages.timeout);
    });
  }

  function listenHTMX4() {
    // Every htmx 4 request event carries the request context in
    // detail.ctx: ctx.request (method, headers, signal), ctx.response
    // (status, headers) once answered, ctx.hx (the HX-* response headers,
    // lower-cased without "hx-" or dashes) and ctx.sourceEvent.
    document.addEventListener("htmx:config:request", function (evt) {
      var request = evt.detail.ctx.request;
      var token = csrfToken();
      if (unsafe(request.method) && token) {
        request.headers["X-CSRF-Token"] = token;
      }
    });

    document.addEventListener("htmx:before:request", function (evt) {
      var ctx = evt.detail.ctx;
      clearOnUserRequest(ctx.sourceEvent);
      var elt = ctx.sourceElement;
      var spec = elt && elt.getAttribute && elt.getAttribute("hx-disabled-elt");
      if (!spec) {
        return;
      }
      ctx.trellisDisabled = [];
      window.htmx.findAll(elt, spec).forEach(function (el) {
        if (el && "disabled" in el && !el.disabled) {
          el.disabled = true;
          ctx.trellisDisabled.push(el);
        }
      });
    });

    document.addEventListener("htmx:finally:request", function (evt) {
      (evt.detail.ctx.trellisDisabled || []).forEach(function (el) {
        el.disabled = false;
      });
    });

    document.addEventListener("htmx:before:swap", function (evt) {
      var ctx = evt.detail.ctx;
      var status = ctx.response && ctx.response.status;
      var headers = (ctx.request && ctx.request.headers) || {};
      var boosted = headers["HX-Boosted"] === "true";
      if (status && swapRefused(status, !!(ctx.hx && ctx.hx.retarget), boosted)) {
        evt.preventDefault();
        showError(failed(status));
        return;
      }
      var trellis = window.htmx.config.trellis;
      if (!(trellis && trellis.allowScriptTags === true)) {
        (evt.detail.tasks || []).forEach(function (task) {
          if (task.fragment && task.fragment.querySelectorAll) {
            task.fragment.querySelectorAll("script").forEach(function (script) {
              script.remove();
            });
          }
        });
      }
    });

    document.addEventListener("htmx:error", function (evt) {
      var ctx = evt.detail.ctx;
      if (!ctx || !ctx.request) {
        return;
      }
      if (ctx.request.signal && ctx.request.signal.reason === "timeout") {
        showError(messages.timeout);
      } else if (!ctx.response) {
        showError(messages.network);
      }
    });
  }

  if (htmx4) {
    listenHTMX4();
  } else {
    listenHTMX2();
  }

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
  // Upload forms (ui.UploadForm, marked data-upload) show a progress bar
  // while they send: htmx 2 reports upload progress with
  // htmx:xhr:progress; htmx 4 sends with fetch, which reports none, so
  // there the bar stays indeterminate until the answer arrives.
  function uploadBar(elt) {
    var form = elt && elt.closest ? elt.closest("form[data-upload]") : null;
    return form ? form.querySelector("progress[data-upload-progress]") : null;
  }

  document.addEventListener(htmx4 ? "htmx:before:request" : "htmx:beforeRequest", function (evt) {
    var bar = uploadBar(evt.target);
    if (bar) {
      bar.removeAttribute("value");
      bar.hidden = false;
    }
  });

  document.addEventListener("htmx:xhr:progress", function (evt) {
    var bar = uploadBar(evt.target);
    if (bar && evt.detail && evt.detail.lengthComputable && evt.detail.total > 0) {
      bar.max = evt.detail.total;
      bar.value = evt.detail.loaded;
    }
  });

  document.addEventListener(htmx4 ? "htmx:finally:request" : "htmx:afterRequest", function (evt) {
    var bar = uploadBar(evt.target);
    if (bar) {
      bar.hidden = true;
    }
  });
})();
