"""shared/i18n.py compile_catalogues: gunicorn's workers boot together and each compiles the
catalogues of a fresh checkout; none may fail because another one's replace came first."""

from __future__ import annotations

import os
import threading

from babel.messages.mofile import read_mo

from shared.i18n import compile_catalogues

PO = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Hello"\nmsgstr "Halo"\n'


def test_concurrent_compiles_all_succeed_and_leave_one_catalogue(tmp_path):
    for k in range(20):
        d = tmp_path / f"round{k}" / "id" / "LC_MESSAGES"
        d.mkdir(parents=True)
        (d / "messages.po").write_text(PO)
        errors: list[BaseException] = []
        go = threading.Barrier(8)

        def compile_one(root=tmp_path / f"round{k}", go=go, errors=errors) -> None:
            go.wait()
            try:
                compile_catalogues(root)
            except BaseException as exc:  # collected: a thread's exception is otherwise lost
                errors.append(exc)

        threads = [threading.Thread(target=compile_one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(os.listdir(d)) == ["messages.mo", "messages.po"]  # no temporary left
        with (d / "messages.mo").open("rb") as f:
            assert read_mo(f).get("Hello").string == "Halo"
