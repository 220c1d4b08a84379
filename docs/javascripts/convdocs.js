// Code and output blocks that a reader can read whole:
// - a block a little wider than the column (a benchmark table, a line of 100 characters) is
//   set in a smaller font until it fits, down to FLOOR of the normal size; a wider one (on a
//   phone) keeps its size and scrolls, with a scroll bar that shows (stylesheets/convdocs.css);
// - a block whose first lines run under the copy button starts below the button, so that the
//   button never covers text (scrolling sideways only moves text away from it).
(function () {
  var FLOOR = 0.8;

  function blocks() {
    return Array.prototype.filter.call(
      document.querySelectorAll(".md-typeset .highlight > pre > code"),
      function (code) { return !code.closest(".jupyter-wrapper"); }
    );
  }

  // A block that does not fit, once every block is back to its normal size and unmarked: its
  // font shrinks until it fits, down to FLOOR, or it scrolls.
  function fit(code) {
    var size = parseFloat(getComputedStyle(code).fontSize);
    var smallest = size * FLOOR;
    for (var step = 0; step < 3 && code.scrollWidth > code.clientWidth; step++) {
      size = Math.max(smallest, size * (code.clientWidth / code.scrollWidth) - 0.05);
      code.style.fontSize = size.toFixed(2) + "px";
    }
    if (code.scrollWidth <= code.clientWidth) return;
    code.style.fontSize = "";
    code.classList.add("convdocs-code-scrolls");
  }

  function underButton(code) {
    var button = code.parentElement.querySelector(".md-code__button, .md-clipboard");
    if (!button) return false;
    var box = button.getBoundingClientRect();
    if (!box.width) return false;
    var walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    var range = document.createRange();
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      range.selectNodeContents(node);
      var rects = range.getClientRects();
      for (var i = 0; i < rects.length; i++) {
        var r = rects[i];
        if (r.top >= box.bottom) return false;  // text below the button from here on
        if (r.right > box.left && r.left < box.right && r.bottom > box.top) return true;
      }
    }
    return false;
  }

  // Each pass measures every block before it changes any, so that the page is laid out once
  // per pass, not once per block.
  function arrange() {
    var codes = blocks();
    codes.forEach(function (code) {
      code.style.fontSize = "";
      code.classList.remove("convdocs-code-scrolls", "convdocs-code-clear");
    });
    var ratios = codes.map(function (code) { return code.clientWidth / code.scrollWidth; });
    codes.forEach(function (code, i) {
      if (ratios[i] >= FLOOR && ratios[i] < 1) fit(code);
    });
    codes.forEach(function (code, i) {
      if (!(ratios[i] >= FLOOR)) code.classList.add("convdocs-code-scrolls");  // (NaN: hidden)
    });
    var under = codes.filter(underButton);
    under.forEach(function (code) { code.classList.add("convdocs-code-clear"); });
  }

  var pending = null;
  function later() {
    clearTimeout(pending);
    pending = setTimeout(arrange, 50);
  }
  window.addEventListener("resize", later);
  window.addEventListener("load", later);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(later);
  if (typeof document$ !== "undefined") {
    document$.subscribe(later);  // Material adds the copy buttons when it mounts the page
  } else {
    later();
  }
})();
