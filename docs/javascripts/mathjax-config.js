// MathJax settings for pymdownx.arithmatex (generic mode); MathJax itself is bundled, not fetched,
// and loads only on pages with math (overrides/main.html).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  },
  startup: {
    pageReady: function () {
      return MathJax.startup.defaultPageReady().then(convdocsMarkWideMath);
    }
  }
};

// An inline formula wider than its line (on a phone) scrolls in its own box, as a display
// formula does, instead of making the whole page scroll sideways.
function convdocsMarkWideMath() {
  var spans = Array.prototype.slice.call(document.querySelectorAll("span.arithmatex"));
  spans.forEach(function (span) { span.classList.remove("convdocs-math-wide"); });
  // Every box is measured before any class changes, so that the page is laid out once.
  var wide = spans.filter(function (span) {
    var block = span.closest("p, li, td, th, dd, dt, figcaption, .admonition, article") || document.body;
    return span.getBoundingClientRect().right > block.getBoundingClientRect().right + 0.5;
  });
  wide.forEach(function (span) { span.classList.add("convdocs-math-wide"); });
}

var convdocsResize = null;
window.addEventListener("resize", function () {
  clearTimeout(convdocsResize);
  convdocsResize = setTimeout(convdocsMarkWideMath, 100);
});

// Re-typeset after Material's instant navigation swaps the page content.
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax && MathJax.startup && MathJax.typesetPromise) {
      MathJax.startup.output.clearCache();
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise().then(convdocsMarkWideMath);
    }
  });
}
