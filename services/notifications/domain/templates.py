"""What a notice says: only that something waits and where to sign in.

Templates are content-free by construction: the only placeholders are `{city}` (the tenant's
public display name) and `{link}` (a sign-in page built from ids), and nothing else is ever
passed to them; a tenant file's template naming any other placeholder is refused by the tenant
schema (`$defs/notice` in shared/schemas/tenant.schema.json), so a city's own wording cannot
pull a report's text, a name, a NIK or an amount into a message.

The one exception are counts: the daily digest's text says how many cases are overdue and due
soon (`{overdue}`, `{due_soon}`, whole numbers only: FIGURES), never which or whose.

Defaults are below, Bahasa Indonesia first; a tenant file may override any of them under
`notifications.templates.<kind>.<id|en>` with `subject` and `body`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.notifications.domain import rules

LANGUAGES = ("id", "en")


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


_SIGN_IN = {
    "id": "\n\nMasuk untuk melihatnya:\n{link}\n\nPesan ini dikirim otomatis oleh {city}.",
    "en": "\n\nSign in to see it:\n{link}\n\nThis message was sent automatically by {city}.",
}


def _t(subject_id: str, line_id: str, subject_en: str, line_en: str) -> dict[str, Message]:
    return {
        "id": Message(subject_id, line_id + _SIGN_IN["id"]),
        "en": Message(subject_en, line_en + _SIGN_IN["en"]),
    }


DEFAULTS: dict[str, dict[str, Message]] = {
    rules.NEW_CASE: _t(
        "[{city}] Ada laporan baru",
        "Ada laporan baru yang menunggu di antrean penerimaan.",
        "[{city}] A new report",
        "A new report is waiting in the intake queue.",
    ),
    rules.ASSIGNED: _t(
        "[{city}] Laporan ditugaskan kepada Anda",
        "Sebuah laporan telah ditugaskan kepada Anda.",
        "[{city}] A report was assigned to you",
        "A report has been assigned to you.",
    ),
    rules.REPORTER_MESSAGE: _t(
        "[{city}] Pesan baru dari pelapor",
        "Pelapor mengirim pesan baru pada laporan yang Anda tangani.",
        "[{city}] A new message from the reporter",
        "The reporter sent a new message on a report you handle.",
    ),
    rules.REPLY_TO_REPORTER: _t(
        "[{city}] Ada balasan baru",
        "Ada balasan baru untuk laporan Anda. Buka kotak masuk dengan kode tanda terima Anda.",
        "[{city}] There is a new reply",
        "There is a new reply to your report. Open the inbox with your receipt code.",
    ),
    rules.IDENTITY_REQUEST: _t(
        "[{city}] Permintaan identitas menunggu",
        "Ada permintaan membuka identitas pelapor yang menunggu keputusan Anda.",
        "[{city}] An identity request is waiting",
        "A request to open a reporter's identity is waiting for your decision.",
    ),
    rules.IDENTITY_APPROVED: _t(
        "[{city}] Permintaan identitas disetujui",
        "Permintaan identitas yang Anda ajukan telah disetujui.",
        "[{city}] Your identity request was approved",
        "The identity request you made has been approved.",
    ),
    rules.APPLICATION_STATUS: _t(
        "[{city}] Status permohonan Anda berubah",
        "Status permohonan hibah/bansos Anda telah berubah.",
        "[{city}] Your application's status changed",
        "The status of your grant or social aid application has changed.",
    ),
    rules.REPLICATION_DECIDED: _t(
        "[{city}] Permohonan replikasi telah diputuskan",
        "Permohonan replikasi kota Anda telah diputuskan. Buka halaman pelacakan dengan kode "
        "pelacakan Anda.",
        "[{city}] Your replication request was decided",
        "Your city's replication request has been decided. Open the tracking page with your "
        "tracking code.",
    ),
    rules.SECURITY_SETTING: _t(
        "[{city}] Pengaturan keamanan berubah",
        "Pengaturan yang berkaitan dengan keamanan kota Anda telah berubah.",
        "[{city}] A security setting changed",
        "A security-relevant setting of your city has changed.",
    ),
    rules.OFFICIAL_CONTACT_CHANGED: _t(
        "[{city}] Kontak seorang pejabat berubah",
        "Alamat e-mail pemberitahuan salah satu pejabat kota Anda telah diubah. Periksa apakah "
        "perubahan itu memang dilakukan.",
        "[{city}] An official's contact changed",
        "The notification e-mail address of one of your city's officials was changed. Check "
        "that the change was meant.",
    ),
    rules.AID_MATCH: _t(
        "[{city}] Periksa permohonan bansos",
        "Sebuah permohonan bansos di kota Anda perlu diperiksa: kota mitra juga mencatat bantuan "
        "sejenis.",
        "[{city}] Check a bansos application",
        "A bansos application in your city needs checking: a linked city also records comparable "
        "aid.",
    ),
    rules.LAPOR_UPDATE: _t(
        "[{city}] Ada kabar baru dari SP4N-LAPOR!",
        "SP4N-LAPOR! memberi kabar baru tentang laporan Anda yang diteruskan. Buka kotak masuk "
        "dengan kode tanda terima Anda.",
        "[{city}] News from SP4N-LAPOR!",
        "SP4N-LAPOR! has news about your forwarded report. Open the inbox with your receipt code.",
    ),
    rules.IDENTITY_DISCLOSED: _t(
        "[{city}] Pemberitahuan tentang laporan Anda",
        "Identitas Anda dibuka kepada petugas yang berwenang sesuai prosedur. Buka kotak masuk "
        "dengan kode tanda terima Anda untuk keterangannya.",
        "[{city}] A notice about your report",
        "Your identity was disclosed to the authorised officer, following the procedure. Open "
        "the inbox with your receipt code for details.",
    ),
    rules.DIGEST: _t(
        "[{city}] Ringkasan harian: {overdue} lewat tenggat, {due_soon} segera jatuh tempo",
        "Laporan yang Anda tangani hari ini: {overdue} melewati tenggat, {due_soon} segera "
        "jatuh tempo.",
        "[{city}] Daily digest: {overdue} overdue, {due_soon} due soon",
        "Reports you handle today: {overdue} overdue, {due_soon} due soon.",
    ),
    rules.LPJ_DUE: _t(
        "[{city}] LPJ Anda segera jatuh tempo",
        "Batas waktu laporan pertanggungjawaban (LPJ) hibah/bansos Anda sudah dekat.",
        "[{city}] Your accountability report is due soon",
        "The deadline of your grant or social aid accountability report (LPJ) is near.",
    ),
    rules.LPJ_OVERDUE: _t(
        "[{city}] LPJ Anda melewati batas waktu",
        "Batas waktu laporan pertanggungjawaban (LPJ) hibah/bansos Anda telah lewat.",
        "[{city}] Your accountability report is overdue",
        "The deadline of your grant or social aid accountability report (LPJ) has passed.",
    ),
}
assert set(DEFAULTS) == set(rules.KINDS)

# the figures a kind's text may hold besides {city} and {link}: counts, never content
FIGURES: dict[str, tuple[str, ...]] = {rules.DIGEST: ("due_soon", "overdue")}


def render(
    kind: str,
    language: str,
    city: str,
    link: str,
    overrides: dict[str, Any] | None = None,
    figures: dict[str, Any] | None = None,
) -> Message:
    """The notice of `kind` in `language` (Indonesian when the language has no template).
    `figures`: the counts of a kind that has them (FIGURES), whole numbers only."""
    language = language if language in LANGUAGES else "id"
    base = DEFAULTS[kind][language]
    own = ((overrides or {}).get(kind) or {}).get(language) or {}
    subject = own.get("subject") or base.subject
    body = own.get("body") or base.body
    values: dict[str, Any] = {"city": city, "link": link}
    for name in FIGURES.get(kind, ()):
        value = (figures or {}).get(name, 0)
        values[name] = value if isinstance(value, int) and not isinstance(value, bool) else 0
    return Message(subject.format(**values).replace("\n", " ")[:200], body.format(**values))
