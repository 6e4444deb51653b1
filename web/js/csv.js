// CSV export of a table: RFC 4180 quoting, CRLF lines, UTF-8 with a byte-order mark so that Excel opens Chinese
// text correctly (without the BOM it guesses the ANSI code page and shows mojibake).
export function csvText(lines) {
  const quote = (value) => {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return `\uFEFF${lines.map((line) => line.map(quote).join(",")).join("\r\n")}\r\n`;
}

/** Offers the lines as a .csv download named after `name` (characters a file name cannot hold become "-"). */
export function csvDownload(name, lines) {
  const blob = new Blob([csvText(lines)], { type: "text/csv;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${String(name).replace(/[\\/:*?"<>|\s]+/g, "-").replace(/^-+|-+$/g, "") || "table"}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
