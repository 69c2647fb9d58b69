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


def test_the_reporters_name_is_found_without_diacritics_in_any_case_and_spacing():
    text = "Nguyen Van An, NGUYỄN VĂN AN và Nguyễn  Văn\nAn đều là người báo; Nguyễn Văn Ánh thì không."
    out = redact(text, ["Nguyễn Văn An"])
    assert out.count(MASK) == 3 and "Nguyễn Văn Ánh" in out and "Nguyen" not in out


def test_names_after_a_form_of_address_or_an_introduction_are_masked():
    out = redact("Tôi là Lê Thị Hoa, nhà bên cạnh chị Hằng và ông Trần Văn Bình đã thấy. Họ tên: Phạm Minh Tú")
    for name in ("Lê Thị Hoa", "Hằng", "Trần Văn Bình", "Phạm Minh Tú"):
        assert name not in out
    assert out.startswith("Tôi là [đã ẩn]") and "chị [đã ẩn]" in out


def test_streets_named_after_people_and_ordinary_words_stay():
    text = "Cột đèn trên đường Bà Triệu và phố Ông Ích Khiêm; bà con an toàn, anh em công nhân đã sửa."
    assert redact(text) == text


def test_phone_and_id_forms():
    text = ("Gọi (+84) 912 345 678, 0912.345.678, 0912-345-678 hoặc 84912345678; CCCD 0660 9000 1234, "
            "CMND 123 456 789, số 066090001234. Kinh phí 100.000.000 đồng.")
    out = redact(text)
    for secret in ("912 345 678", "0912.345.678", "0912-345-678", "84912345678", "0660 9000 1234", "123 456 789",
                   "066090001234", "0660", "1234"):
        assert secret not in out, secret
    assert "100.000.000 đồng" in out
