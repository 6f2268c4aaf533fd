"""An `.xlsx` workbook's sheet as a beneficiary `Table` (openpyxl, read-only, cached values).

The first sheet, or the one named. Before openpyxl reads anything the zip's directory is
checked: a workbook whose parts unpack to more than `MAX_UNPACKED` bytes, or that is no zip at
all, is refused, so a small upload cannot make the server inflate gigabytes.
"""

from __future__ import annotations

import io
import warnings
import zipfile

import openpyxl

from services.hibah_bansos.domain.beneficiary_file import (
    MAX_ROWS,
    Cell,
    FileRefused,
    Table,
)

MAX_UNPACKED = 200 * 1024 * 1024


def read_xlsx(raw: bytes, sheet: str | None = None) -> Table:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise FileRefused(
            422, "The file is not a readable .xlsx workbook; nothing was imported."
        ) from None
    if unpacked > MAX_UNPACKED:
        raise FileRefused(413, "The workbook unpacks to more than 200 MB; nothing was imported.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style", data validation extensions
            book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # openpyxl raises KeyError, ValueError, ... for a broken workbook
        raise FileRefused(
            422, "The file is not a readable .xlsx workbook; nothing was imported."
        ) from None
    try:
        names = [ws.title for ws in book.worksheets]
        if not names:
            raise FileRefused(422, "The workbook has no sheet; nothing was imported.")
        if sheet is not None and sheet not in names:
            raise FileRefused(
                422,
                f"The workbook has no sheet named {sheet!r}; its sheets: {', '.join(names)}.",
                sheets=names,
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        rows: list[tuple[int, list[Cell]]] = []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if all(v is None or v == "" for v in values):
                continue  # blank (perhaps only formatted) rows: skipped, their numbers kept
            rows.append((number, list(values)))
            if len(rows) > MAX_ROWS + 10:
                raise FileRefused(413, f"More than {MAX_ROWS} rows; nothing was imported.")
        return Table(rows, ragged=False)
    finally:
        book.close()
