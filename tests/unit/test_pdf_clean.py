"""PDFs are cleaned like images (issue 16, item 11): a PDF whose Author/Producer name the
reporter's computer, with XMP, JavaScript run on open and an embedded file, comes out with the
page and nothing else; a PDF that cannot be rewritten is refused."""

from __future__ import annotations

import pytest

from services.whistleblowing import attachments
from shared.pdf_clean import PdfNotCleanable, clean_pdf
from tests.support.pdfs import MARK, hostile_pdf, locked_pdf, what_is_left


def test_the_hostile_pdf_holds_what_the_review_found():
    before = what_is_left(hostile_pdf())
    assert before["mark"] and before["attachments"] == ["bukti.txt"]
    assert {"/OpenAction", "/AA", "/Metadata"} <= set(before["root"])


def test_metadata_scripts_actions_and_embedded_files_are_gone():
    after = what_is_left(clean_pdf(hostile_pdf()))
    assert after["pages"] == 1
    assert after["info"] == {} and after["attachments"] == []
    assert not {"/OpenAction", "/AA", "/Metadata", "/AF"} & set(after["root"])
    assert "/AA" not in after["page"]
    assert not after["mark"]


def test_evidence_pdfs_are_stored_cleaned():
    clean = attachments.inspect(hostile_pdf(), attachments.Policy())
    assert clean.media_type == "application/pdf"
    assert not what_is_left(clean.data)["mark"]


@pytest.mark.parametrize(
    "bad",
    [locked_pdf(), b"%PDF-1.7\n" + b"\x00garbage" * 50],
    ids=["password-locked", "damaged"],
)
def test_a_pdf_that_cannot_be_cleaned_is_refused(bad):
    with pytest.raises(PdfNotCleanable):
        clean_pdf(bad)
    with pytest.raises(attachments.AttachmentRejected) as info:
        attachments.inspect(bad, attachments.Policy())
    assert info.value.status == 422 and "cleaned" in str(info.value)
    assert MARK not in str(info.value)
