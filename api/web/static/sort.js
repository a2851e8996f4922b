/* Sort a table's rows by a column when its header button is pressed (again: the other way round).
   Cells may carry data-value for numbers; the header's data-type="number" compares numerically. */
"use strict";
document.querySelectorAll("table.sortable").forEach((table) => {
  const headers = [...table.tHead.rows[0].cells];
  headers.forEach((header, column) => {
    const button = header.querySelector("button.sort");
    if (!button) return;
    button.addEventListener("click", () => {
      const ascending = header.getAttribute("aria-sort") !== "ascending";
      const numeric = header.dataset.type === "number";
      const key = (row) => {
        const cell = row.cells[column];
        const text = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
        return numeric ? Number(text) : text;
      };
      const rows = [...table.tBodies[0].rows];
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        const order = numeric ? x - y : String(x).localeCompare(String(y), document.documentElement.lang);
        return ascending ? order : -order;
      });
      headers.forEach((other) => other.removeAttribute("aria-sort"));
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      table.tBodies[0].append(...rows);
    });
  });
});
