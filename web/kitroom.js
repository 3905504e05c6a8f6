// Kitroom works without JavaScript. This file only adds small conveniences.
(function () {
  "use strict";
  // Search as you type on lists: submit the search form a moment after typing stops.
  document.querySelectorAll("input[data-autosubmit]").forEach(function (input) {
    var timer;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var form = input.form;
        var page = form.querySelector("input[name=page]");
        if (page) page.remove();
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }, 400);
    });
    // Keep the cursor at the end of the search box after the page reloads.
    if (input.value) {
      var len = input.value.length;
      input.focus();
      input.setSelectionRange(len, len);
    }
  });
  // Move focus to the error summary so screen readers announce it.
  var summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
  // Filter drop-downs apply at once.
  document.querySelectorAll(".filters select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
(function () {
  "use strict";
  // "Print labels": inline handlers are blocked by the content security policy.
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();
(function () {
  "use strict";
  // A stocktake's progress updates while other people scan into it.
  var box = document.querySelector("[data-progress-url]");
  if (!box || !window.fetch) return;
  var text = box.querySelector(".progress-text");
  var bar = box.querySelector("progress");
  setInterval(function () {
    fetch(box.getAttribute("data-progress-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) return;
        if (text) text.textContent = p.text;
        if (bar) { bar.max = Math.max(p.expected, 1); bar.value = p.seen; }
      })
      .catch(function () {});
  }, 3000);
})();
(function () {
  "use strict";
  // Import: with JavaScript, pick the CSV file instead of pasting it; its text goes
  // into the same box the form posts, so the server sees the same thing either way.
  document.querySelectorAll("[data-file-pick]").forEach(function (field) {
    var input = field.querySelector("input[type=file]");
    var target = input && document.getElementById(input.getAttribute("data-csv-into"));
    if (!target || !window.FileReader) return;
    field.hidden = false;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      var reader = new FileReader();
      reader.onload = function () { target.value = reader.result; };
      reader.readAsText(file);
    });
  });
})();
(function () {
  "use strict";
  // The menu is one button on a phone; on a wider screen it stays open as a bar.
  var menu = document.querySelector("details.menu");
  if (!menu || !window.matchMedia) return;
  var wide = window.matchMedia("(min-width: 700px)");
  function fit() {
    menu.classList.toggle("wide", wide.matches);
    menu.open = wide.matches;
  }
  fit();
  if (wide.addEventListener) wide.addEventListener("change", fit);
})();
(function () {
  "use strict";
  // "Lend to": as a name is typed, fill the field's suggestions from the same
  // search the "Search for a person" page uses. Without JavaScript that page does it.
  document.querySelectorAll("input[data-people-search]").forEach(function (input) {
    var list = input.list;
    if (!list || !window.fetch) return;
    var timer;
    var asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2 || q === asked) return;
      timer = setTimeout(function () {
        asked = q;
        fetch(input.getAttribute("data-people-search") + "?q=" + encodeURIComponent(q), {
          credentials: "same-origin",
          headers: { Accept: "application/json" }
        })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (found) {
            if (!found || input.value.trim() !== q) return;
            while (list.firstChild) list.removeChild(list.firstChild);
            found.items.forEach(function (p) {
              var option = document.createElement("option");
              option.value = p.username;
              option.textContent = p.full_name;
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 250);
    });
  });
})();
