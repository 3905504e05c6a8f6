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
(function () {
  "use strict";
  // Scanning a label with the phone's camera without leaving the page. The
  // browser's own BarcodeDetector where it has one, else the jsQR decoder
  // (/static/jsQR.js, loaded only when needed). Every frame goes through
  // decodeFrame(imageData). A form marked data-camera="open" opens the first
  // label read; "continuous" (a stocktake) sends each label and keeps scanning.
  // Typing and USB scanners work as before: this only fills and sends the form.
  var decoder = null;
  function loadDecoder(url) {
    var ready = function () {
      var f = window.jsQR;
      return f && typeof f !== "function" ? f["default"] : f;
    };
    if (ready()) return Promise.resolve(ready());
    if (!decoder) {
      decoder = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = url;
        s.onload = function () { ready() ? resolve(ready()) : reject(new Error("no decoder")); };
        s.onerror = function () { decoder = null; reject(new Error("the decoder did not load")); };
        document.head.appendChild(s);
      });
    }
    return decoder;
  }

  var audio = null;
  function tick(box) {
    box.classList.remove("camera-tick");
    void box.offsetWidth; // restart the animation
    box.classList.add("camera-tick");
    try {
      if (!audio) return;
      var o = audio.createOscillator();
      var g = audio.createGain();
      o.frequency.value = 1200;
      g.gain.value = 0.15;
      o.connect(g);
      g.connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + 0.08);
    } catch (e) { /* no sound: the tick is still shown */ }
  }

  function Scanner(form, box) {
    var self = this;
    var input = form.querySelector("input[name=tag]");
    var status = box.querySelector(".camera-status");
    var view = box.querySelector(".camera-view");
    var video = view.querySelector("video");
    var startButton = box.querySelector(".camera-start");
    var stopButton = box.querySelector(".camera-stop");
    var continuous = form.getAttribute("data-camera") === "continuous";
    var stream = null;
    var timer = null;
    var detector = null;
    var canvas = null;
    var last = "";
    var lastAt = 0;
    // The same label held in front of the camera is read many times a second:
    // it counts again only once it has been out of view this long.
    var debounceMs = 2500;

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("camera-error", !!isError);
    }

    // The progress and the list of devices not seen yet, as the page Kitroom
    // answered with shows them (updated in place: the progress poller keeps its
    // elements).
    function refreshFrom(doc) {
      var text = doc.querySelector(".progress-text");
      var here = document.querySelector(".progress-text");
      if (text && here) here.textContent = text.textContent;
      var bar = doc.querySelector(".progress-box progress");
      var barHere = document.querySelector(".progress-box progress");
      if (bar && barHere) { barHere.max = bar.max; barHere.value = bar.value; }
      var list = doc.querySelector("ul.unseen");
      var listHere = document.querySelector("ul.unseen");
      if (listHere) {
        if (list) listHere.replaceWith(document.importNode(list, true));
        else listHere.replaceChildren();
      }
      var heading = function (d) {
        return Array.prototype.find.call(d.querySelectorAll("h2"), function (h) {
          return h.textContent.indexOf("Not seen yet") === 0;
        });
      };
      var h = heading(doc);
      var hHere = heading(document);
      if (h && hHere) hHere.replaceWith(document.importNode(h, true));
    }

    // A stocktake: send the scan as the form would, keep the camera open, and
    // show what Kitroom answered, the progress and the list of devices not seen.
    function sendInPlace(tag) {
      say("Sending " + tag + "…");
      var body = new URLSearchParams(new FormData(form));
      return fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" }
      })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var problem = doc.querySelector(".error-summary");
          var notice = doc.querySelector(".notice[role=status]");
          var message = problem || notice;
          var text = message ? message.textContent.replace(/\s+/g, " ").trim() : tag + " sent.";
          say(text, !!problem || /^✗/.test(text));
          refreshFrom(doc);
          if (input.value === tag) input.value = "";
        })
        .catch(function () {
          say("Kitroom could not be reached. Type " + tag + " instead, or try again.", true);
        });
    }

    // One label read from a frame; true when it was used.
    this.read = function (text) {
      text = (text || "").trim();
      if (!text) return false;
      var now = Date.now();
      if (text === last && now - lastAt < debounceMs) {
        lastAt = now;
        return false;
      }
      last = text;
      lastAt = now;
      input.value = text;
      tick(box);
      if (continuous) {
        sendInPlace(text);
      } else {
        self.stop();
        say("Opening " + text + "…");
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
      return true;
    };

    // Decodes one frame (an ImageData): the camera's frames come here, and so may
    // a test's. Resolves to the text read, or null.
    this.decodeFrame = function (imageData) {
      if (detector) {
        return detector.detect(imageData).then(function (codes) {
          var text = codes.length ? codes[0].rawValue : null;
          if (text) self.read(text);
          return text;
        });
      }
      return loadDecoder(box.getAttribute("data-decoder")).then(function (jsQR) {
        var code = jsQR(imageData.data, imageData.width, imageData.height, { inversionAttempts: "dontInvert" });
        var text = code && code.data ? code.data : null;
        if (text) self.read(text);
        return text;
      });
    };

    function frame() {
      if (!stream) return;
      var next = function () { if (stream) timer = setTimeout(frame, 200); };
      var w = video.videoWidth;
      var h = video.videoHeight;
      if (!w || !h) return next();
      var scale = Math.min(1, 800 / Math.max(w, h));
      canvas = canvas || document.createElement("canvas");
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(h * scale);
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      self.decodeFrame(ctx.getImageData(0, 0, canvas.width, canvas.height))
        .catch(function () {})
        .then(next);
    }

    this.start = function () {
      try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
      say("Starting the camera…");
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          view.hidden = false;
          startButton.hidden = true;
          return video.play();
        })
        .then(function () {
          say(continuous ? "Point the camera at each label in turn." : "Point the camera at the label.");
          frame();
        })
        .catch(function (e) {
          self.stop();
          say(e && e.name === "NotAllowedError"
            ? "The camera was not allowed. Type the tag or use a barcode scanner instead."
            : "The camera could not start. Type the tag or use a barcode scanner instead.", true);
        });
    };

    this.stop = function () {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      clearTimeout(timer);
      video.srcObject = null;
      view.hidden = true;
      startButton.hidden = false;
    };

    if ("BarcodeDetector" in window) {
      try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { detector = null; }
    }
    startButton.addEventListener("click", self.start);
    stopButton.addEventListener("click", function () { self.stop(); say(""); });
    window.addEventListener("pagehide", self.stop);
  }

  document.querySelectorAll("form[data-camera]").forEach(function (form) {
    var box = form.querySelector(".camera");
    if (!box) return;
    form.kitroomScanner = new Scanner(form, box);
    // The camera may be used only in a secure context (https, or localhost).
    if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) box.hidden = false;
  });
})();
