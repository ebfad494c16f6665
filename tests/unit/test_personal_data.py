"""ID numbers and phones are masked wherever they sit in an answer."""

from shared.personal_data import masked


def test_id_numbers_and_phones_are_masked_however_deep() -> None:
    answer = {
        "applicant": {"name": "张三", "id_number": "330102199001011234", "phone": "13812345678"},
        "items": [{"evidence": {"id_number": "91330100MA2H000001"}}],
        "count": 3,
    }
    assert masked(answer) == {
        "applicant": {"name": "张三", "id_number": "3301**********1234", "phone": "138****5678"},
        "items": [{"evidence": {"id_number": "9133**********0001"}}],
        "count": 3,
    }


def test_a_value_too_short_to_keep_any_of_is_masked_whole() -> None:
    assert masked({"phone": "110"}) == {"phone": "***"}
