/* Small helpers for the staff web UI. No build step: plain JavaScript, served as is.
 *
 * - Idle logoff notice: warns before the session ends for inactivity, offers
 *   "Stay signed in", and goes to the login page when the server says the
 *   session is over. Requests made by polling carry X-Background-Refresh and
 *   neither reset this timer nor (server side) the session's idle deadline.
 * - Elapsed time: [data-elapsed-since="<ISO time>"] shows mm:ss since then.
 * - Server errors (5xx) and lost connections during htmx requests become a banner.
 */
(function () {
  "use strict";

  var BACKGROUND_HEADER = "X-Background-Refresh";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (e) {
      return "";
    }
  }

  function showBanner(text) {
    var box = document.getElementById("page-messages");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "banner error";
    div.setAttribute("role", "alert");
    div.textContent = text;
    box.replaceChildren(div);
  }

  /* ---- idle logoff ---------------------------------------------------- */
  function startIdleTimer() {
    var body = document.body;
    var total = parseInt(body.dataset.idleSeconds || "0", 10);
    if (!total) return;
    var warnBefore = Math.min(120, Math.floor(total / 4));
    var notice = document.getElementById("idle-notice");
    var countdown = notice && notice.querySelector("[data-idle-countdown]");
    var deadline = Date.now() + total * 1000;
    var checking = false;

    function goToLogin(url) {
      window.location.assign(url || body.dataset.idleLoginUrl);
    }

    function reset(seconds) {
      deadline = Date.now() + (seconds === undefined ? total : seconds) * 1000;
      if (notice) notice.hidden = true;
    }

    function checkServer() {
      if (checking) return;
      checking = true;
      fetch(body.dataset.idleStatusUrl, {
        headers: { "X-Background-Refresh": "1", Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (response.status === 401) {
            goToLogin(response.headers.get("HX-Redirect"));
            return null;
          }
          return response.json();
        })
        .then(function (data) {
          if (!data) return;
          if (data.seconds_left > 0) {
            // Another tab kept the session alive: follow the server's clock.
            deadline = Date.now() + data.seconds_left * 1000;
            if (notice && data.seconds_left > warnBefore) notice.hidden = true;
          } else {
            goToLogin();
          }
        })
        .catch(function () {
          /* offline: try again on the next tick */
        })
        .finally(function () {
          checking = false;
        });
    }

    function tick() {
      var left = Math.round((deadline - Date.now()) / 1000);
      if (left <= 0) {
        checkServer();
        return;
      }
      if (left <= warnBefore && notice) {
        var m = Math.floor(left / 60);
        var s = left % 60;
        if (countdown) countdown.textContent = (m ? m + " min " : "") + s + " s";
        notice.hidden = false;
      }
    }

    if (notice) {
      var stay = notice.querySelector("[data-idle-stay]");
      if (stay) {
        stay.addEventListener("click", function () {
          fetch(body.dataset.keepAliveUrl, {
            method: "POST",
            headers: { "X-CSRFToken": csrfToken() },
            credentials: "same-origin",
          }).then(function (response) {
            if (response.status === 401) goToLogin(response.headers.get("HX-Redirect"));
            else reset();
          });
        });
      }
    }

    document.body.addEventListener("htmx:afterRequest", function (event) {
      var headers = (event.detail.requestConfig && event.detail.requestConfig.headers) || {};
      if (headers[BACKGROUND_HEADER] !== "1") reset();
    });
    window.setInterval(tick, 1000);
  }

  /* ---- elapsed time ------------------------------------------------------ */
  function pad(n) {
    return n < 10 ? "0" + n : "" + n;
  }

  function updateElapsed() {
    var nodes = document.querySelectorAll("[data-elapsed-since]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var since = Date.parse(node.getAttribute("data-elapsed-since"));
      var until = node.getAttribute("data-elapsed-until");
      var end = until ? Date.parse(until) : Date.now();
      if (isNaN(since)) continue;
      var seconds = Math.max(0, Math.floor((end - since) / 1000));
      var h = Math.floor(seconds / 3600);
      var m = Math.floor((seconds % 3600) / 60);
      var text = (h ? h + ":" + pad(m) : "" + m) + ":" + pad(seconds % 60);
      if (node.textContent !== text) node.textContent = text;
    }
  }

  /* ---- vitals due / overdue --------------------------------------------- */
  // The server computes when the next reading is due; here the prompt only turns
  // into the overdue warning when that moment passes while the page is open.
  function updateDue() {
    var nodes = document.querySelectorAll("[data-due-at]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var due = Date.parse(node.getAttribute("data-due-at"));
      if (!isNaN(due) && Date.now() > due && !node.classList.contains("overdue")) {
        node.classList.add("overdue");
        node.textContent = node.getAttribute("data-overdue-text");
        node.setAttribute("role", "alert");
      }
    }
  }

  /* ---- 0-10 sliders show their value ------------------------------------ */
  function watchSliders() {
    document.body.addEventListener("input", function (event) {
      var input = event.target;
      if (!input.id) return;
      var output = document.querySelector('output[data-shows="' + input.id + '"]');
      if (output) output.textContent = input.value;
    });
  }

  /* ---- htmx error banner -------------------------------------------------- */
  function watchHtmxErrors() {
    document.body.addEventListener("htmx:responseError", function (event) {
      if (event.detail.xhr && event.detail.xhr.status >= 500) {
        showBanner("The server could not save this. Nothing was changed; try again.");
      }
    });
    document.body.addEventListener("htmx:sendError", function () {
      showBanner("No connection to the server. Nothing was saved; check the network and try again.");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    startIdleTimer();
    updateElapsed();
    updateDue();
    window.setInterval(function () {
      updateElapsed();
      updateDue();
    }, 1000);
    watchSliders();
    watchHtmxErrors();
  });
})();
