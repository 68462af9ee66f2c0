// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // A region may appear twice (search hit and tree): keep every copy ticked alike.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[type=checkbox][name=region]")) return;
    document.querySelectorAll("input[type=checkbox][name=region]").forEach(function (other) {
      if (other !== box && other.value === box.value) other.checked = box.checked;
    });
  });

  var input = document.getElementById("region-q");
  var hits = document.getElementById("region-hits");
  var searchForm = document.getElementById("region-search");
  if (!input || !hits || !searchForm) return;

  function ticked(code) {
    return Array.prototype.some.call(
      document.querySelectorAll("input[type=checkbox][name=region]"),
      function (b) { return b.value === code && b.checked; }
    );
  }

  function show(results, query) {
    while (hits.firstChild) hits.removeChild(hits.firstChild);
    if (!query) return;
    var head = document.createElement("p");
    head.className = results.length ? "sub" : "muted";
    head.textContent = results.length ? hits.dataset.resultsLabel : hits.dataset.emptyLabel;
    hits.appendChild(head);
    results.forEach(function (r) {
      var label = document.createElement("label");
      label.className = "check";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.name = "region";
      box.value = r.code;
      box.checked = ticked(r.code);
      // The hit belongs to the main form although it sits beside the search box.
      box.setAttribute("form", "main-form");
      var path = document.createElement("span");
      path.className = "path";
      path.textContent = r.path;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + r.name + " "));
      label.appendChild(path);
      hits.appendChild(label);
    });
  }

  var timer = null;
  var latest = 0;
  function search() {
    var query = input.value.trim();
    var mine = ++latest;
    if (!query) { show([], ""); return; }
    fetch("/api/regions?q=" + encodeURIComponent(query), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (results) { if (mine === latest) show(results, query); })
      .catch(function () {});
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    search();
  });
})();
