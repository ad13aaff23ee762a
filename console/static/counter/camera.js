// The counter's camera: reads a QR code and hands its text to the scan form, as a scanner would type it.
// The browser's BarcodeDetector when it reads QR codes, else the vendored jsQR (loaded only when needed).
// The button stays hidden where the browser offers no camera (no navigator.mediaDevices.getUserMedia).
(function () {
  "use strict";
  var button = document.getElementById("camera-button");
  var panel = document.getElementById("camera");
  var video = document.getElementById("camera-video");
  var stopButton = document.getElementById("camera-stop");
  var said = document.getElementById("camera-said");
  var input = document.getElementById("code");
  var form = document.getElementById("scan");
  if (!button || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  button.hidden = false;

  var stream = null, reading = false, canvas = document.createElement("canvas");

  function detectorFor() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(null);
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({formats: ["qr_code"]}) : null;
    }, function () { return null; });
  }

  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = panel.getAttribute("data-decoder");
      script.onload = function () { resolve(window.jsQR); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function decoderFor() {
    return detectorFor().then(function (detector) {
      if (detector) {
        return function () {
          return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
        };
      }
      return loadJsQR().then(function (jsQR) {
        return function () {
          var width = video.videoWidth, height = video.videoHeight;
          if (!width || !height) return Promise.resolve(null);
          canvas.width = width; canvas.height = height;
          var context = canvas.getContext("2d", {willReadFrequently: true});
          context.drawImage(video, 0, 0, width, height);
          var found = jsQR(context.getImageData(0, 0, width, height).data, width, height,
                           {inversionAttempts: "dontInvert"});
          return Promise.resolve(found ? found.data : null);
        };
      });
    });
  }

  function stop() {
    reading = false;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
  }

  function handOn(text) {
    stop();
    input.value = text;
    // requestSubmit fires the submit event htmx listens to: the same flow as a scanner's Enter.
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function start() {
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    said.textContent = said.getAttribute("data-starting");
    Promise.all([navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false}),
                 decoderFor()]).then(function (ready) {
      stream = ready[0];
      var decode = ready[1];
      video.srcObject = stream;
      return video.play().then(function () {
        said.textContent = said.getAttribute("data-pointing");
        reading = true;
        (function look() {
          if (!reading) return;
          decode().then(function (text) {
            if (text) handOn(text); else window.setTimeout(look, 150);
          }, function () { window.setTimeout(look, 300); });
        })();
      });
    }).catch(function () {
      stop();
      panel.hidden = false;
      said.textContent = said.getAttribute("data-refused");
      stopButton.focus();
    });
  }

  button.addEventListener("click", function () { if (stream) stop(); else start(); });
  stopButton.addEventListener("click", function () { stop(); panel.hidden = true; input.focus(); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { stop(); input.focus(); }
  });
})();
