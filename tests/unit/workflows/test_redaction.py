"""Personal data is masked before anything is published."""

from __future__ import annotations

from workflows.redaction import MASK, redact


def test_contacts_ids_and_names_are_masked():
    text = ("Ông Nguyễn Văn An (0912 345 678, +84 912345678, an.nv@gmail.com, CCCD 066090001234) báo "
            "đèn hỏng; nguyễn văn an sẽ theo dõi.")
    out = redact(text, ["Nguyễn Văn An"])
    for secret in ("0912 345 678", "912345678", "an.nv@gmail.com", "066090001234", "Nguyễn Văn An", "nguyễn văn an"):
        assert secret not in out
    assert out.count(MASK) == 6 and "đèn hỏng" in out


def test_ordinary_numbers_stay():
    assert redact("Đường 30/4, cột đèn số 12, dài 150 m") == "Đường 30/4, cột đèn số 12, dài 150 m"
