// On a phone the menu scrolls sideways: keep the current page's entry in view.
(function () {
  function showCurrent() {
    var current = document.querySelector(".main-nav a[aria-current='page']");
    var nav = current && current.closest(".main-nav");
    if (nav) {
      nav.scrollLeft = current.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
    }
  }
  document.addEventListener("DOMContentLoaded", showCurrent);
  window.addEventListener("resize", showCurrent);
})();
