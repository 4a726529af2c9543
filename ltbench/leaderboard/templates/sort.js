// Sortable tables: click a column header to sort its rows (again to reverse); missing values ("–") stay last.
(function () {
  "use strict";
  function number(cell) {
    var value = parseFloat(cell.textContent.trim().replace("\u2212", "-"));
    return isNaN(value) ? null : value;
  }
  function sortBy(table, column, header) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = rows.some(function (row) { return number(row.cells[column]) !== null; });
    rows.sort(function (a, b) {
      var x = numeric ? number(a.cells[column]) : a.cells[column].textContent.trim().toLowerCase();
      var y = numeric ? number(b.cells[column]) : b.cells[column].textContent.trim().toLowerCase();
      if (x === y) { return 0; }
      if (x === null || x === "" || x === "\u2013") { return 1; }
      if (y === null || y === "" || y === "\u2013") { return -1; }
      return (x < y ? -1 : 1) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(header.parentNode.cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var headers = table.tHead.rows[table.tHead.rows.length - 1].cells;
    Array.prototype.forEach.call(headers, function (header, column) {
      header.tabIndex = 0;
      header.title = "sort by this column";
      header.addEventListener("click", function () { sortBy(table, column, header); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { sortBy(table, column, header); }
      });
    });
  });
})();
