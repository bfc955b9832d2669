// Refresh the queue's counts every minute without reloading the page (and its filters).
(function () {
  var list = document.querySelector("[data-counts-url]");
  if (!list || !window.fetch) return;
  function refresh() {
    fetch(list.getAttribute("data-counts-url"), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (counts) {
        if (!counts) return;
        Object.keys(counts).forEach(function (name) {
          var cell = list.querySelector('[data-count="' + name + '"]');
          if (cell) cell.textContent = counts[name];
        });
      })
      .catch(function () {});
  }
  setInterval(refresh, 60000);
})();
