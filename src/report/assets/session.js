// zhibiao: forms of signed-in pages. Compiled into the binary.
//
// Every form post of a page needs the session's CSRF token in the X-CSRF-Token header,
// which the server checks before it reads a byte of the body. A plain HTML form cannot
// send a header, so forms marked `data-csrf` are sent here with fetch instead: the
// token comes from <meta name="csrf-token">. A redirect is followed to its page; an
// HTML answer replaces the page; a refusal (problem+json) is shown as its detail.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!meta) {
    return;
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-csrf")) {
      return;
    }
    ev.preventDefault();
    var data = new FormData(form);
    var headers = { "X-CSRF-Token": meta.getAttribute("content") };
    var body = data;
    if ((form.enctype || "").indexOf("multipart/") !== 0) {
      body = new URLSearchParams(data);
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: body,
    })
      .then(function (res) {
        var type = res.headers.get("Content-Type") || "";
        if (res.redirected) {
          location.assign(res.url);
          return null;
        }
        if (type.indexOf("text/html") === 0) {
          return res.text().then(function (html) {
            document.open();
            document.write(html);
            document.close();
          });
        }
        return res.text().then(function (text) {
          var detail = res.status + " " + res.statusText;
          try {
            detail = JSON.parse(text).detail || detail;
          } catch (e) {
            // Not problem+json: the status line says enough.
          }
          alert(detail);
        });
      })
      .catch(function () {
        alert("网络连接失败，请稍后重试");
      });
  });
})();
