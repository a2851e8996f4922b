"""Tables as files for people: CSV (UTF-8 with a byte order mark, so spreadsheet programs read Chinese) and
Excel, and their media types."""

from __future__ import annotations

import csv
import io

MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def to_csv(header: list[str], table: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], table: list[list], sheet: str = "sheet") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(header)
    for row in table:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_file(fmt: str, header: list[str], table: list[list], sheet: str = "sheet") -> bytes:
    """The table as a `csv` or `xlsx` file."""
    return to_csv(header, table) if fmt == "csv" else to_xlsx(header, table, sheet)
