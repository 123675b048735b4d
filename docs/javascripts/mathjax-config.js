// MathJax 3 configuration for pymdownx.arithmatex (generic mode).
// arithmatex wraps inline math in \( ... \) and display math in \[ ... \] inside elements of class
// "arithmatex"; MathJax is told to typeset only those elements, so dollar signs and backslashes
// elsewhere on a page (code, JSON rows) are left alone.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    tags: "none"
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};
