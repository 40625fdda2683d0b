/* zhibiao dashboard: auto-refresh and auto-submitting filters. No dependencies.
 *
 * The pages work without this script. With it:
 * - every 15 s the page asks GET /v1/alerts?as_of=<the page's as_of> with If-None-Match
 *   set to the last ETag. The ETag changes with any accepted write, so a 200 with a new
 *   ETag (after the first poll, which only learns the tag) reloads the page and its
 *   figures; a 304 costs nothing. Polling pauses while the tab is hidden.
 * - the filter selects submit the form when changed.
 * - the 打印 button (hidden without the script) opens the browser's print dialog; the
 *   stylesheet's print rules lay the table out on A4.
 */
(function () {
  "use strict";

  var POLL_MS = 15000;
  var etag = null;
  var first = true;
  var timer = null;
  var busy = false;

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function clock(d) {
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function indicators() {
    return document.querySelectorAll("[data-refresh]");
  }

  function show(text, stale) {
    var els = indicators();
    for (var i = 0; i < els.length; i++) {
      els[i].textContent = text;
      els[i].className = stale ? "refresh stale" : "refresh";
    }
  }

  function asOf() {
    var body = document.body;
    var v = body && body.getAttribute("data-as-of");
    if (!v) {
      var input = document.querySelector('[name="as_of"]');
      v = input ? input.value : "";
    }
    return v || "";
  }

  /* Someone is using the filter form: do not pull the page from under them. */
  function editing() {
    var a = document.activeElement;
    return !!(a && a.form && a.form.classList && a.form.classList.contains("filters"));
  }

  function schedule() {
    clearTimeout(timer);
    if (document.visibilityState !== "hidden") {
      timer = setTimeout(poll, POLL_MS);
    }
  }

  function poll() {
    if (busy || document.visibilityState === "hidden") {
      return;
    }
    busy = true;
    var headers = {};
    if (etag) {
      headers["If-None-Match"] = etag;
    }
    var url = "/v1/alerts?as_of=" + encodeURIComponent(asOf());
    fetch(url, { headers: headers, cache: "no-store", credentials: "same-origin" })
      .then(function (res) {
        if (res.status === 304) {
          return;
        }
        if (res.status !== 200) {
          show("自动更新暂不可用（" + res.status + "）", true);
          return;
        }
        var tag = res.headers.get("ETag");
        if (!first && tag !== etag) {
          if (editing()) {
            return; /* keep the old tag: the next poll reloads */
          }
          try {
            sessionStorage.setItem("zhibiao-updated", clock(new Date()));
          } catch (e) {
            /* private mode: the indicator just shows the load time */
          }
          location.reload();
          return;
        }
        first = false;
        etag = tag;
      })
      .catch(function () {
        show("连接中断，稍后重试", true);
      })
      .then(function () {
        busy = false;
        schedule();
      });
  }

  function autoSubmit() {
    var selects = document.querySelectorAll("form.filters select");
    for (var i = 0; i < selects.length; i++) {
      selects[i].addEventListener("change", function (ev) {
        var form = ev.target.form;
        if (form) {
          form.submit();
        }
      });
    }
  }

  function printButtons() {
    var buttons = document.querySelectorAll("[data-print]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function () {
        window.print();
      });
    }
  }

  function start() {
    autoSubmit();
    printButtons();
    var when = null;
    try {
      when = sessionStorage.getItem("zhibiao-updated");
      sessionStorage.removeItem("zhibiao-updated");
    } catch (e) {
      when = null;
    }
    show("已更新 " + (when || clock(new Date())), false);
    if (!window.fetch) {
      return;
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") {
        clearTimeout(timer);
      } else {
        poll();
      }
    });
    poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
